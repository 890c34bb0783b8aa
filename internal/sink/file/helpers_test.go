package file_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
)

// newSink is file.New that fails the test on a configuration error.
func newSink(t *testing.T, cfg file.Config) *file.Sink {
	t.Helper()
	s, err := file.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// putToken delivers value as a token without a username.
func putToken(s *file.Sink, value string) (changed bool, err error) {
	return s.Put(context.Background(), secret.TokenOnly(secret.New(value)))
}

// writeFile makes path hold content with permissions perm, failing the test
// if it cannot.
func writeFile(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}

// symlinked makes, in a fresh directory, the file target holding content
// (mode 0600) and link, a symbolic link to it by its relative name; it
// returns both paths.
func symlinked(t *testing.T, target, link, content string) (targetPath, linkPath string) {
	t.Helper()
	dir := t.TempDir()
	targetPath, linkPath = filepath.Join(dir, target), filepath.Join(dir, link)
	writeFile(t, targetPath, content, 0o600)
	if err := os.Symlink(target, linkPath); err != nil {
		t.Fatal(err)
	}
	return targetPath, linkPath
}

// wantUnchanged fails the test unless path still holds want.
func wantUnchanged(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Fatalf("%s = %q, %v; want it untouched (%q)", path, b, err, want)
	}
}
