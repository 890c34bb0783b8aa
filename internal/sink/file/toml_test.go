package file_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
)

// runnerConfig is a gitlab-runner config.toml as `gitlab-runner register`
// writes it, with an operator's comments, two runners, and a sub-table and
// an array of tables below each.
const runnerConfig = `# Managed by ops; tokens by tokenwarden.
concurrent = 4
check_interval = 0

[session_server]
  session_timeout = 1800

# The build runner.
[[runners]]
  name = "build-1"
  url = "https://gitlab.example.com"
  id = 7
  token = "glrt-OLDBUILDOLDBUILDOLD1" # rotated by tokenwarden
  token_obtained_at = 2026-01-01T00:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "docker"
  [runners.docker]
    image = "alpine:3"
    volumes = ["/cache",
      "/var/run/docker.sock:/var/run/docker.sock"]
  [[runners.docker.services]]
    name = "postgres:16"

[[runners]]
  name = 'deploy.prod'
  url = "https://gitlab.example.com"
  token = 'glrt-OLDDEPLOYOLDDEPLOY2'
  executor = "shell"
  [runners.custom_build_dir]
    enabled = true
`

func TestTOMLRunnerToken(t *testing.T) {
	const tok = "glrt-NEWNEWNEWNEWNEWNEW12"
	got := put(t, file.FormatTOML, "runners[name=build-1].token", runnerConfig, tok)
	want := strings.Replace(runnerConfig, "glrt-OLDBUILDOLDBUILDOLD1", tok, 1)
	if got != want {
		t.Fatalf("config.toml after Put:\n%s\nwant (only the one token changed):\n%s", got, want)
	}
	// A name with a dot, a literal string kept literal, the first runner untouched.
	got = put(t, file.FormatTOML, "runners[name=deploy.prod].token", runnerConfig, tok)
	want = strings.Replace(runnerConfig, "'glrt-OLDDEPLOYOLDDEPLOY2'", "'"+tok+"'", 1)
	if got != want {
		t.Fatalf("config.toml after Put:\n%s\nwant:\n%s", got, want)
	}
	// The same with a quoted selector value.
	got = put(t, file.FormatTOML, `runners[name="deploy.prod"].token`, runnerConfig, tok)
	if got != want {
		t.Fatalf("quoted selector: config.toml after Put:\n%s\nwant:\n%s", got, want)
	}
}

func TestTOMLKeepsTheRestOfTheFile(t *testing.T) {
	const tok = "glrt-NEWNEWNEWNEWNEWNEW12"
	tests := []struct{ name, key, before, value, want string }{
		{"top-level key", "token", "# c\ntoken = \"old\" # keep\nb = 1\n", tok, "# c\ntoken = \"" + tok + "\" # keep\nb = 1\n"},
		{"nested table", "registry.token", "[registry]\nurl = \"r\"\ntoken = \"old\"\n[other]\ntoken = \"x\"\n", tok,
			"[registry]\nurl = \"r\"\ntoken = \"" + tok + "\"\n[other]\ntoken = \"x\"\n"},
		{"dotted key", "registry.token", "registry.token = \"old\"\n", tok, "registry.token = \"" + tok + "\"\n"},
		{"escapes what a basic string needs", "token", "token = \"old\"\n", "a\"b\\c\td\x01", "token = \"a\\\"b\\\\c\\td\\u0001\"\n"},
		{"a literal string that cannot stay literal", "token", "token = 'old'\n", "it's", "token = \"it's\"\n"},
		{"adds a missing key after the table's last key", "registry.token", "[registry]\n  url = \"r\"\n\n[other]\n  a = 1\n", tok,
			"[registry]\n  url = \"r\"\n  token = \"" + tok + "\"\n\n[other]\n  a = 1\n"},
		{"adds a missing runner token", "runners[name=a].token", "[[runners]]\n  name = \"a\"\n  [runners.docker]\n    image = \"x\"\n", tok,
			"[[runners]]\n  name = \"a\"\n  token = \"" + tok + "\"\n  [runners.docker]\n    image = \"x\"\n"},
		{"adds a top-level key before the first table", "token", "a = 1\n[t]\nb = 2\n", tok, "a = 1\ntoken = \"" + tok + "\"\n[t]\nb = 2\n"},
		{"adds a missing table at the end", "registry.token", "a = 1", tok, "a = 1\n\n[registry]\ntoken = \"" + tok + "\"\n"},
		{"starts an empty file", "registry.token", "", tok, "[registry]\ntoken = \"" + tok + "\"\n"},
		{"keeps CRLF", "t.token", "[t]\r\na = 1\r\n", tok, "[t]\r\na = 1\r\ntoken = \"" + tok + "\"\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := put(t, file.FormatTOML, tt.key, tt.before, tt.value); got != tt.want {
				t.Errorf("file after Put:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// Get reads the selected runner's token; a runner that is not in the file
// is an error (Put could not add its table), not "nothing stored".
func TestTOMLGet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, path, runnerConfig, 0o600)
	for key, want := range map[string]string{
		"runners[name=build-1].token":     "glrt-OLDBUILDOLDBUILDOLD1",
		"runners[name=deploy.prod].token": "glrt-OLDDEPLOYOLDDEPLOY2",
	} {
		s := newSink(t, file.Config{Path: path, Key: key})
		if got, err := s.Get(context.Background()); err != nil || got.Token.Reveal() != want {
			t.Errorf("Get %s = %q, %v; want %q", key, got.Token.Reveal(), err, want)
		}
	}
	s := newSink(t, file.Config{Path: path, Key: "runners[name=gone].token"})
	if _, err := s.Get(context.Background()); err == nil || errors.Is(err, sink.ErrNotFound) || !strings.Contains(err.Error(), `no [[runners]] table has name = "gone"`) {
		t.Errorf("Get of a runner not in the file: %v, want an error naming it (Put could not write it)", err)
	}
}

// config.toml as a symbolic link is refused like any other format's file.
func TestTOMLRefusesSymlink(t *testing.T) {
	real, link := symlinked(t, "real.toml", "config.toml", runnerConfig)
	s := newSink(t, file.Config{Path: link, Key: "runners[name=build-1].token"})
	if _, err := putToken(s, "glrt-NEWNEWNEWNEWNEWNEW12"); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Fatalf("Put through a symlink: %v", err)
	}
	wantUnchanged(t, real, runnerConfig)
}
