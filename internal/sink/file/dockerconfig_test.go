//go:build unix

package file_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
)

const deployUser = "gitlab+deploy-token-12"

func deployCred(tok string) secret.Credential {
	return secret.Credential{Username: deployUser, Token: secret.New(tok)}
}

func dockerSink(t *testing.T, path string) *file.Sink {
	t.Helper()
	return newSink(t, file.Config{Path: path, Format: file.FormatDockerConfig, Registry: "registry.example.com:5050"})
}

// Docker's config.json keeps every other registry's entry and every other
// top-level key; our entry gets auth = base64(username:token), as `docker
// login` writes it, and loses the fields that would take its place.
func TestDockerConfigKeepsEverythingElse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	before := `{
  "auths": {
    "other.example.com": {"auth": "b3RoZXI6c2VjcmV0", "email": "o@example.com"},
    "registry.example.com:5050": {"username": "old", "password": "oldpass", "identitytoken": "idt", "email": "me@example.com"}
  },
  "HttpHeaders": {"User-Agent": "Docker-Client"},
  "psFormat": "table {{.ID}}",
  "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
  "experimental": "enabled",
  "currentContext": "prod"
}`
	writeFile(t, path, before, 0o600)
	s := dockerSink(t, path)
	if changed, err := s.Put(context.Background(), deployCred(tok)); err != nil || !changed {
		t.Fatalf("Put = %v, %v", changed, err)
	}
	var got, want map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("written file is not JSON: %v", err)
	}
	_ = json.Unmarshal([]byte(before), &want)
	want["auths"].(map[string]any)["registry.example.com:5050"] = map[string]any{
		"auth":  base64.StdEncoding.EncodeToString([]byte(deployUser + ":" + tok)),
		"email": "me@example.com",
	}
	if gj, wj := mustJSON(t, got), mustJSON(t, want); gj != wj {
		t.Errorf("config.json after Put:\n%s\nwant\n%s", gj, wj)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	c, err := s.Get(context.Background())
	if err != nil || !c.Equal(deployCred(tok)) {
		t.Fatalf("Get = %q %s, %v", c.Username, c.Token.Hint(), err)
	}
	if changed, err := s.Put(context.Background(), deployCred(tok)); err != nil || changed {
		t.Errorf("second Put = %v, %v; want unchanged", changed, err)
	}
}

// A new file is created with only our entry, mode 0600.
func TestDockerConfigNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if _, err := dockerSink(t, path).Put(context.Background(), deployCred(tok)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	auth := base64.StdEncoding.EncodeToString([]byte(deployUser + ":" + tok))
	if want := "{\n  \"auths\": {\n    \"registry.example.com:5050\": {\n      \"auth\": \"" + auth + "\"\n    }\n  }\n}\n"; string(b) != want {
		t.Errorf("new config.json:\n%s\nwant\n%s", b, want)
	}
}

// Docker reads a credential helper's or a credentials store's answer
// instead of auths: delivering there would change nothing, so Put refuses
// with a hint, and writes nothing. So does an entry for the same host under
// another key (https://…), which makes it ambiguous.
func TestDockerConfigRefusesShadowedEntry(t *testing.T) {
	for name, content := range map[string]string{
		"credHelpers": `{"auths": {}, "credHelpers": {"registry.example.com:5050": "ecr-login"}}`,
		"credsStore":  `{"auths": {"registry.example.com:5050": {}}, "credsStore": "desktop"}`,
		"alias":       `{"auths": {"https://registry.example.com:5050/v2/": {"auth": "eDp5"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			writeFile(t, path, content, 0o600)
			_, err := dockerSink(t, path).Put(context.Background(), deployCred(tok))
			if err == nil {
				t.Fatal("Put into a shadowed entry succeeded")
			}
			if strings.Contains(err.Error(), tok) || !strings.Contains(err.Error(), "config.json") {
				t.Errorf("error %q: want the file named and no secret", err)
			}
			if problem.Hint(err) == "" {
				t.Errorf("refusal %q carries no hint", err)
			}
			wantUnchanged(t, path, content)
		})
	}
}

// A config.json that is a symbolic link is refused like every file sink's
// target, and the file it points to is left alone.
func TestDockerConfigRefusesSymlink(t *testing.T) {
	victim, link := symlinked(t, "real.json", "config.json", `{"auths": {}}`)
	_, err := dockerSink(t, link).Put(context.Background(), deployCred(tok))
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Put through a symlink: %v; want a refusal", err)
	}
	wantUnchanged(t, victim, `{"auths": {}}`)
}

// Docker reads username and password when an entry has no auth; and a
// file tokenwarden cannot read is not overwritten.
func TestDockerConfigReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	s := dockerSink(t, path)
	writeFile(t, path, `{"auths": {"registry.example.com:5050": {"username": "`+deployUser+`", "password": "`+tok+`"}}}`, 0o600)
	if c, err := s.Get(context.Background()); err != nil || !c.Equal(deployCred(tok)) {
		t.Errorf("Get of username/password = %q %s, %v", c.Username, c.Token.Hint(), err)
	}
	for _, bad := range []string{`{"auths": []}`, `{"auths": {"registry.example.com:5050": {"auth": "%%%"}}}`, `[1]`} {
		writeFile(t, path, bad, 0o600)
		if _, err := s.Put(context.Background(), deployCred(tok)); err == nil {
			t.Errorf("Put into %s succeeded", bad)
		}
		wantUnchanged(t, path, bad)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A token and its username go in one replace of the file: other lines stay,
// an existing username line is updated in place, a missing one appended.
func TestUsernameKeyWrittenWithToken(t *testing.T) {
	for _, c := range []struct{ format, key, usernameKey, before, want string }{
		{file.FormatDotenv, "REGISTRY_TOKEN", "REGISTRY_USER", "# app\nREGISTRY_USER=old\nLOG=info\n",
			"# app\nREGISTRY_USER=" + deployUser + "\nLOG=info\nREGISTRY_TOKEN=" + tok + "\n"},
		{file.FormatJSON, "registry.token", "registry.username", `{"registry": {"url": "r"}, "x": 1}`,
			"{\n  \"registry\": {\n    \"url\": \"r\",\n    \"token\": \"" + tok + "\",\n    \"username\": \"" + deployUser + "\"\n  },\n  \"x\": 1\n}\n"},
		{file.FormatYAML, "token", "username", "# app\nurl: r\n",
			"# app\nurl: r\ntoken: " + tok + "\nusername: " + deployUser + "\n"},
	} {
		t.Run(c.format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "target")
			writeFile(t, path, c.before, 0o600)
			s := newSink(t, file.Config{Path: path, Format: c.format, Key: c.key, UsernameKey: c.usernameKey})
			if _, err := s.Put(context.Background(), deployCred(tok)); err != nil {
				t.Fatal(err)
			}
			wantUnchanged(t, path, c.want)
			if got, err := s.Get(context.Background()); err != nil || !got.Equal(deployCred(tok)) {
				t.Errorf("Get = %q %s, %v", got.Username, got.Token.Hint(), err)
			}
		})
	}
}
