package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/sinktest"
)

func TestConformance(t *testing.T) {
	for _, c := range []struct{ format, name, key, usernameKey string }{
		{file.FormatDotenv, "app.env", "REGISTRY_TOKEN", "REGISTRY_USER"},
		{file.FormatJSON, "app.json", "registry.token", "registry.username"},
		{file.FormatYAML, "app.yaml", "registry.token", "registry.username"},
		{file.FormatTOML, "config.toml", "registry.token", "registry.username"},
		{file.FormatRaw, "token", "", ""},
		{file.FormatDockerConfig, "config.json", "", ""}, // always a username: two-value only
	} {
		t.Run(c.format, func(t *testing.T) {
			newSinkWith := func(t *testing.T, usernameKey string) sink.Sink {
				cfg := file.Config{Path: filepath.Join(t.TempDir(), c.name), Format: c.format, Key: c.key, UsernameKey: usernameKey}
				if c.format == file.FormatDockerConfig {
					cfg.Registry = "registry.example.com:5050"
				}
				s, err := file.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			opts := sinktest.Options{
				Readable:   true,
				Comparable: true,
				BreakNextPut: func(t *testing.T, s sink.Sink) func() {
					return file.FailBeforeRename(s.(*file.Sink), errors.New("injected: disk full"))
				},
			}
			newSink := func(t *testing.T) sink.Sink { return newSinkWith(t, "") }
			switch {
			case c.format == file.FormatDockerConfig:
				newSink, opts.NewTwoValue = nil, newSink
			case c.usernameKey != "":
				opts.NewTwoValue = func(t *testing.T) sink.Sink { return newSinkWith(t, c.usernameKey) }
			}
			sinktest.Run(t, newSink, opts)
		})
	}
}

// put writes before into a fresh file, puts value under key and returns the file.
func put(t *testing.T, format, key, before, value string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "target")
	if before != "" {
		writeFile(t, path, before, 0o644)
	}
	s := newSink(t, file.Config{Path: path, Format: format, Key: key})
	if _, err := putToken(s, value); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Get(context.Background())
	if err != nil || got.Token.Reveal() != value {
		t.Fatalf("Get after Put = %q, %v; want %q", got.Token.Reveal(), err, value)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPutKeepsTheRestOfTheFile(t *testing.T) {
	const tok = "glpat-NEWNEWNEWNEWNEWNEW12"
	tests := []struct {
		name, format, key, before, value, want string
	}{
		{"dotenv replaces in place", "dotenv", "TOKEN",
			"# registry access\nA=1\nTOKEN=glpat-old\n\nB='x y' # keep\n", tok,
			"# registry access\nA=1\nTOKEN=" + tok + "\n\nB='x y' # keep\n"},
		{"dotenv keeps export and spacing", "dotenv", "TOKEN",
			"export TOKEN = \"old\"\nOTHER=2\n", tok,
			"export TOKEN = " + tok + "\nOTHER=2\n"},
		{"dotenv appends a missing key", "dotenv", "TOKEN",
			"A=1", tok, "A=1\nTOKEN=" + tok + "\n"},
		{"dotenv does not touch a longer key", "dotenv", "TOKEN",
			"TOKEN_OLD=keep\n", tok, "TOKEN_OLD=keep\nTOKEN=" + tok + "\n"},
		{"dotenv quotes what a shell would expand", "dotenv", "TOKEN",
			"", `a$b"c d\`, `TOKEN="a\$b\"c d\\"` + "\n"},
		{"dotenv keeps CRLF line endings", "dotenv", "TOKEN",
			"A=1\r\nTOKEN=old\r\n", tok, "A=1\r\nTOKEN=" + tok + "\r\n"},
		{"json keeps other keys and their order", "json", "token",
			`{"z": 1, "token": "old", "a": {"b": [true, null, 1.50]}}`, tok,
			"{\n  \"z\": 1,\n  \"token\": \"" + tok + "\",\n  \"a\": {\n    \"b\": [\n      true,\n      null,\n      1.50\n    ]\n  }\n}\n"},
		{"json creates nested objects", "json", "registry.auth.token",
			`{"registry": {"url": "r.example.com"}}`, tok,
			"{\n  \"registry\": {\n    \"url\": \"r.example.com\",\n    \"auth\": {\n      \"token\": \"" + tok + "\"\n    }\n  }\n}\n"},
		{"json starts an empty file", "json", "token", "", tok, "{\n  \"token\": \"" + tok + "\"\n}\n"},
		{"yaml keeps comments and order", "yaml", "registry.token",
			"# app config\nname: app # the name\nregistry:\n  # rotated by tokenwarden\n  token: old\n  url: r.example.com\n", tok,
			"# app config\nname: app # the name\nregistry:\n  # rotated by tokenwarden\n  token: " + tok + "\n  url: r.example.com\n"},
		{"yaml quotes values that would not read back as strings", "yaml", "token",
			"token: old\n", "12345678", "token: \"12345678\"\n"},
		{"yaml keeps the quoting style", "yaml", "token",
			"token: 'old'\n", tok, "token: '" + tok + "'\n"},
		{"yaml keeps an empty null in a flow mapping", "yaml", "token",
			"{a, b: }\n", tok, "{a: null, b: null, token: " + tok + "}\n"},
		{"yaml adds a missing key", "yaml", "a.token",
			"b: 1\n", tok, "b: 1\na:\n  token: " + tok + "\n"},
		{"raw is exactly the secret", "raw", "",
			"old\n", tok, tok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := put(t, tt.format, tt.key, tt.before, tt.value); got != tt.want {
				t.Errorf("file after Put:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestPutRefusesToClobber(t *testing.T) {
	tests := []struct{ name, format, key, before, wantErr string }{
		{"json key holds an object", "json", "token", `{"token": {"a": 1}}`, "holds a object"},
		{"json path through a string", "json", "a.token", `{"a": "x"}`, "not an object"},
		{"json not an object", "json", "token", `[1]`, "not an object"},
		{"json invalid", "json", "token", `{"token": `, "not valid JSON"},
		{"json not UTF-8", "json", "token", "{\"name\": \"caf\xe9\", \"token\": \"old\"}", "not UTF-8"},
		{"yaml key holds a mapping", "yaml", "token", "token:\n  a: 1\n", "does not hold a scalar"},
		{"yaml key other keys alias", "yaml", "token", "token: &t old\nother: *t\n", "other keys refer to (*t)"},
		{"yaml several documents", "yaml", "token", "a: 1\n---\nb: 2\n", "several YAML documents"},
		{"dotenv unterminated quote", "dotenv", "TOKEN", "TOKEN=\"abc\n", "line 1: unterminated"},
		{"toml runner that gitlab-runner resets itself", "toml", "runners[name=a].token", "[[runners]]\nname = \"a\"\ntoken = \"old\"\ntoken_expires_at = 2027-01-01T00:00:00Z\n", "gitlab-runner resets the token itself"},
		{"toml no runner of that name", "toml", "runners[name=gone].token", runnerConfig, `no [[runners]] table has name = "gone"`},
		{"toml two runners of that name", "toml", "runners[name=a].token", "[[runners]]\nname = \"a\"\n[[runners]]\nname = \"a\"\n", "several [[runners]] tables have name"},
		{"toml selector on a plain table", "toml", "runners[name=a].token", "[runners]\nname = \"a\"\n", "not an array of tables"},
		{"toml key holds a table", "toml", "token", "[token]\na = 1\n", "holds a table, not a string"},
		{"toml key holds an integer", "toml", "token", "token = 5\n", "holds a integer"},
		{"toml key inside an inline table", "toml", "runners[name=a].token", "runners = [{name = \"a\", token = \"old\"}]\n", "not an array of tables"},
		{"toml inline table", "toml", "r.token", "r = {token = \"old\"}\n", "inline table"},
		{"toml invalid TOML", "toml", "token", "token = \"old\"\ntoken = \"again\"\n", "not valid TOML (line 2)"},
		{"toml not UTF-8", "toml", "token", "name = \"caf\xe9\"\ntoken = \"old\"\n", "not UTF-8"},
		{"toml table defined by dotted keys", "toml", "a.token", "a.b = 1\n[c]\n", "would not be valid TOML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "target")
			writeFile(t, path, tt.before, 0o600)
			s := newSink(t, file.Config{Path: path, Format: tt.format, Key: tt.key})
			_, err := putToken(s, "glpat-NEWNEWNEWNEWNEWNEW12")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "sink file: ") {
				t.Fatalf("Put: %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "NEWNEW") {
				t.Fatalf("the secret in the error: %v", err)
			}
			wantUnchanged(t, path, tt.before)
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  file.Config
		want string
	}{
		{"no path", file.Config{Format: "raw"}, "path is required"},
		{"format from the name, no key", file.Config{Path: "/x.env"}, "key is required for format dotenv"},
		{"unknown format", file.Config{Path: "/x", Format: "ini", Key: "a"}, `unknown format "ini"`},
		{"toml no key", file.Config{Path: "/etc/gitlab-runner/config.toml"}, "key is required for format toml"},
		{"toml selector at the end", file.Config{Path: "/x.toml", Key: "runners[name=a]"}, "ends with a selector"},
		{"toml selector without ]", file.Config{Path: "/x.toml", Key: "runners[name=a.token"}, "a selector ends with ]"},
		{"dotenv bad key", file.Config{Path: "/x", Format: "dotenv", Key: "1A"}, "not a valid variable name"},
		{"json no key", file.Config{Path: "/x", Format: "json"}, "key is required for format json"},
		{"yaml empty segment", file.Config{Path: "/x", Format: "yaml", Key: "a..b"}, "empty segment"},
		{"json key not UTF-8", file.Config{Path: "/x", Format: "json", Key: "caf\xe9"}, "not valid UTF-8"},
		{"raw with key", file.Config{Path: "/x", Format: "raw", Key: "a"}, "key is not used with format raw"},
		{"world-readable", file.Config{Path: "/x", Format: "raw", Mode: 0o644}, "lets every user on the machine read the token"},
		{"mode with type bits", file.Config{Path: "/x", Format: "raw", Mode: os.ModeDir | 0o600}, "other than permissions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := file.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want error containing %q", err, tt.want)
			}
			if problem.Hint(err) == "" {
				t.Errorf("error %q carries no hint", err)
			}
		})
	}
}

func TestModeAndNoLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.env")
	writeFile(t, path, "A=1\n", 0o644)
	s := newSink(t, file.Config{Path: path, Format: "dotenv", Key: "TOKEN"})
	restore := file.FailBeforeRename(s, errors.New("injected"))
	if _, err := putToken(s, "glpat-aaaaaaaaaaaaaaaaaaaa"); err == nil {
		t.Fatal("Put succeeded despite the injected fault")
	}
	restore()
	if _, err := putToken(s, "glpat-aaaaaaaaaaaaaaaaaaaa"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (the default, whatever the file had before)", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the target (no temp files left behind)", len(entries))
	}

	s2, _ := file.New(file.Config{Path: filepath.Join(dir, "ro"), Format: "raw", Mode: 0o640})
	if _, err := putToken(s2, "glpat-aaaaaaaaaaaaaaaaaaaa"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "ro")); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the configured 0640", st.Mode().Perm())
	}
}

func TestMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	s := newSink(t, file.Config{Path: filepath.Join(dir, "app.env"), Format: "dotenv", Key: "T"})
	_, err := putToken(s, "glpat-aaaaaaaaaaaaaaaaaaaa")
	if err == nil || !strings.Contains(err.Error(), "directory "+dir+" does not exist") || !strings.Contains(problem.Hint(err), "create the directory") {
		t.Fatalf("Put: %v (hint %q), want the missing directory named and a hint", err, problem.Hint(err))
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("Put created the directory")
	}
}

func TestTwoKeysOfOneFileConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.env")
	const n = 6
	sinks := make([]*file.Sink, n)
	for i := range sinks {
		sinks[i] = newSink(t, file.Config{Path: path, Format: "dotenv", Key: "K" + string(rune('A'+i))})
	}
	done := make(chan error, n)
	for _, s := range sinks {
		go func() {
			_, err := putToken(s, "glpat-aaaaaaaaaaaaaaaaaaaa")
			done <- err
		}()
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sinks {
		if _, err := s.Get(context.Background()); err != nil {
			t.Errorf("%s lost its update: %v", s.Describe(), err)
		}
	}
}

func TestAwkwardValuesReadBack(t *testing.T) {
	for _, format := range []string{"dotenv", "json", "yaml"} {
		for _, v := range []string{"a b#c", `q"uo'te\`, "$HOME", "true", "0x10", "- item", "null", "ünï", "tab\there", "#hash", "multi\nline"} {
			t.Run(format+"/"+v, func(t *testing.T) { put(t, format, "T", "", v) })
		}
	}
}

// A raw file is the secret's bytes, nothing added; newline: true asks for
// one "\n" after it. Each reads back what it wrote, and a file in the other
// shape does not count as holding the secret: Put rewrites it.
func TestRawNewline(t *testing.T) {
	const tok = "glpat-NEWNEWNEWNEWNEWNEW12"
	for _, c := range []struct {
		name    string
		newline bool
		before  string
		want    string
		changed bool
	}{
		{"exact bytes", false, "", tok, true},
		{"exact bytes, a newline left by an older version", false, tok + "\n", tok, true},
		{"exact bytes, already there", false, tok, tok, false},
		{"newline", true, "", tok + "\n", true},
		{"newline, file without one", true, tok, tok + "\n", false},
		{"newline, already there", true, tok + "\n", tok + "\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token")
			if c.before != "" {
				writeFile(t, path, c.before, 0o600)
			}
			s := newSink(t, file.Config{Path: path, Format: file.FormatRaw, Newline: c.newline})
			changed, err := putToken(s, tok)
			if err != nil || changed != c.changed {
				t.Fatalf("Put = %v, %v; want changed=%v", changed, err, c.changed)
			}
			if c.changed {
				if b, _ := os.ReadFile(path); string(b) != c.want {
					t.Fatalf("file = %q, want %q", b, c.want)
				}
			}
			if got, err := s.Get(context.Background()); err != nil || got.Token.Reveal() != tok {
				t.Fatalf("Get = %q, %v", got.Token.Reveal(), err)
			}
		})
	}
	if _, err := file.New(file.Config{Path: "/x.env", Format: file.FormatDotenv, Key: "T", Newline: true}); err == nil || !strings.Contains(err.Error(), "newline is used only with format raw") {
		t.Fatalf("New(dotenv, newline) = %v", err)
	}
}
