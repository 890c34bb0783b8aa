package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// state_env: the state's URL, password included, comes from one variable (a
// masked CI/CD variable, a Kubernetes Secret); the config file names only the
// variable.
func TestStateEnv(t *testing.T) {
	const url = "postgres://tw:hunter2hunter2@db.example.com:5432/tw?sslmode=verify-full"
	t.Setenv("TW_STATE", url)
	c, err := Parse("c.yaml", []byte(head+"state_env: TW_STATE\nkey_file: /k\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != url || c.StateEnv != "TW_STATE" {
		t.Errorf("state %q from %q, want %q from TW_STATE", c.State, c.StateEnv, url)
	}

	t.Setenv("TW_STATE", "sqlite://state/tw.db")
	dir, _ := filepath.Abs(".")
	c, err = Parse(filepath.Join(dir, "c.yaml"), []byte(head+"state_env: TW_STATE\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "sqlite://" + filepath.Join(dir, "state/tw.db"); c.State != want {
		t.Errorf("state %q, want %q (relative to the config)", c.State, want)
	}

	// The variable holds a secret: no hook gets it.
	t.Setenv("TW_STATE", url)
	_, err = Parse("c.yaml", []byte(head+"state_env: TW_STATE\nkey_file: /k\n"+tok+"    deliver:\n      - exec: {command: [x], env_pass: [TW_STATE]}\n"))
	if err == nil || !strings.Contains(err.Error(), "env_pass TW_STATE: it holds the state's URL (state_env)") {
		t.Errorf("env_pass of the state's variable: %v", err)
	}
}

func TestStateEnvRejected(t *testing.T) {
	tests := []struct {
		name, value, yaml, msg, hint string
	}{
		{"unset", "", "state_env: TW_STATE\n", "state_env: environment variable TW_STATE is not set", "export TW_STATE=postgres://"},
		{"both", "postgres://db/tw", "state: postgres://db/tw\nstate_env: TW_STATE\n", "both state and state_env", "keep one"},
		{"scheme", "mysql://tw:hunter2hunter2@db/tw", "state_env: TW_STATE\n", "TW_STATE holds neither a sqlite:// nor a postgres:// URL", "sqlite://PATH"},
		{"bad url", "postgres://tw:hunter2%zz@db/tw", "state_env: TW_STATE\n", "state_env: TW_STATE is not a valid URL", "URL-encode"},
		{"sqlite without path", "sqlite://", "state_env: TW_STATE\n", "sqlite:// without a file path", "sqlite:///"},
		{"not a name", "", "state_env: $TW_STATE\n", "state_env is not an environment variable name", "TW_STATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TW_STATE", tt.value)
			_, err := Parse("c.yaml", []byte(head+tt.yaml))
			errs := Errors(err)
			if len(errs) != 1 || errs[0].Line < 2 || !strings.Contains(errs[0].Msg, tt.msg) || !strings.Contains(errs[0].Hint, tt.hint) {
				t.Fatalf("got %v (hint %v), want one error ~%q hint ~%q", err, errs, tt.msg, tt.hint)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(errs[0].Hint, "hunter2") {
				t.Errorf("error echoes the URL's password: %v", err)
			}
		})
	}
}
