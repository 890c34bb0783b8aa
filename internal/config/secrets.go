package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// ErrNoSecret is wrapped when a referenced secret is missing or empty.
var ErrNoSecret = errors.New("secret not set")

// LoadSecret reads a secret from the environment variable env, or else from
// file (one trailing newline trimmed). Errors name the variable or the file,
// never the value.
func LoadSecret(env, file string) (secret.Secret, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return secret.Secret{}, fmt.Errorf("environment variable %s is not set: %w", env, ErrNoSecret)
		}
		if v == "" {
			return secret.Secret{}, fmt.Errorf("environment variable %s is empty: %w", env, ErrNoSecret)
		}
		return secret.New(v), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			// *PathError names the file and the cause, not the content.
			return secret.Secret{}, fmt.Errorf("read secret: %w", err)
		}
		v := string(b)
		v = strings.TrimSuffix(v, "\n")
		v = strings.TrimSuffix(v, "\r")
		if v == "" {
			return secret.Secret{}, fmt.Errorf("secret file %s is empty: %w", file, ErrNoSecret)
		}
		return secret.New(v), nil
	}
	return secret.Secret{}, fmt.Errorf("neither an environment variable nor a file is configured: %w", ErrNoSecret)
}

// LoadToken reads the managing token.
func (g GitLab) LoadToken() (secret.Secret, error) {
	s, err := LoadSecret(g.TokenEnv, g.TokenFile)
	if err != nil {
		return s, fmt.Errorf("gitlab token: %w", err)
	}
	return s, nil
}

// LoadToken reads the managed token's own current secret (strategy self).
func (t Token) LoadToken() (secret.Secret, error) {
	s, err := LoadSecret(t.TokenEnv, t.TokenFile)
	if err != nil {
		return s, fmt.Errorf("token %s: %w", t.Ref(), err)
	}
	return s, nil
}

// KeyFilePath says which key file encrypts the journal's secrets: getenv's
// TOKENWARDEN_KEY_FILE, else key_file, else (embedded SQLite only) a file
// beside the database ("state.db" → "state.key"). create reports whether the
// file may be created when missing — only for that last, default case.
func (c *Config) KeyFilePath(getenv func(string) string) (path string, create bool, err error) {
	if getenv != nil {
		if p := getenv(KeyFileEnv); p != "" {
			return p, false, nil
		}
	}
	if c.KeyFile != "" {
		return c.KeyFile, false, nil
	}
	if db, ok := strings.CutPrefix(c.State, "sqlite://"); ok {
		return strings.TrimSuffix(db, filepath.Ext(db)) + ".key", true, nil
	}
	return "", false, fmt.Errorf("state %s needs a key for secrets at rest: set key_file in %s or %s", redactDSN(c.State), c.Path, KeyFileEnv)
}

// Sealer opens the key: getenv's TOKENWARDEN_KEY (the key itself), else the
// key file (KeyFilePath), created for the embedded default.
func (c *Config) Sealer(getenv func(string) string) (secret.Sealer, error) {
	if getenv != nil {
		if k := getenv(KeyEnv); k != "" {
			return secret.ParseKey(k, KeyEnv)
		}
	}
	path, create, err := c.KeyFilePath(getenv)
	if err != nil {
		return nil, err
	}
	if create {
		return secret.LoadOrCreateKey(path)
	}
	return secret.LoadKey(path)
}

// redactDSN drops user info from a database URL for messages.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}
