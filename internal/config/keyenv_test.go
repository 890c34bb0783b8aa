package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// TOKENWARDEN_KEY holds the key itself (a Kubernetes Secret as an
// environment variable): it wins over the key file settings, and a bad value
// is reported without quoting it.
func TestSealerFromKeyEnv(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &Config{Path: "c.yaml", State: "postgres://tw@db/tw", KeyFile: filepath.Join(dir, "missing.key")}
	env := map[string]string{KeyEnv: "# created: by age-keygen\n" + id.String() + "\n", KeyFileEnv: filepath.Join(dir, "missing-too.key")}
	s, err := c.Sealer(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("TOKENWARDEN_KEY not used: %v", err)
	}
	sealed, err := s.Seal(secret.New("glpat-sealedsecret"))
	if err != nil {
		t.Fatal(err)
	}
	// The same key, from a file, opens what the variable's key sealed.
	if err := os.WriteFile(filepath.Join(dir, "k"), []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := (&Config{Path: "c.yaml", State: c.State, KeyFile: filepath.Join(dir, "k")}).Sealer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Open(sealed); err != nil || got.Reveal() != "glpat-sealedsecret" {
		t.Errorf("open = %q, %v", got, err)
	}

	env[KeyEnv] = "AGE-SECRET-KEY-1NOTAKEYHUNTER2"
	_, err = c.Sealer(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "key in $TOKENWARDEN_KEY: not an age identity") || strings.Contains(err.Error(), "HUNTER2") {
		t.Errorf("bad TOKENWARDEN_KEY: %v", err)
	}
}
