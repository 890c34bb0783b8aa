package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
)

// KeyError is a problem with the key file that the operator must fix; Hint
// says how.
type KeyError struct {
	Path string
	Env  string // the environment variable that held the key, instead of Path
	Msg  string
	Hint string
	Err  error
}

func (e *KeyError) Error() string {
	where := "key file " + e.Path
	if e.Env != "" {
		where = "key in $" + e.Env
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", where, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", where, e.Msg)
}

func (e *KeyError) Unwrap() error { return e.Err }

// HintText is Hint: main prints it under the error (see package problem).
func (e *KeyError) HintText() string { return e.Hint }

// ParseKey reads an age X25519 identity from the environment variable env's
// value text (what age-keygen writes). Errors never quote the key.
func ParseKey(text, env string) (Sealer, error) {
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		return nil, &KeyError{Env: env, Msg: "not an age identity", Hint: "set it to the AGE-SECRET-KEY-1… line age-keygen writes", Err: err}
	}
	return x25519Sealer(ids, &KeyError{Env: env})
}

// x25519Sealer is a Sealer for the first X25519 identity of ids; without
// one, it returns where (a KeyError naming the key's file or variable),
// completed.
func x25519Sealer(ids []age.Identity, where *KeyError) (Sealer, error) {
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok {
			return NewAgeSealer(x), nil
		}
	}
	where.Msg, where.Hint = "holds no X25519 identity", "generate one with age-keygen"
	return nil, where
}

// LoadKey reads the age X25519 identity in path (the format age-keygen
// writes) and returns a Sealer for it. The file must not be accessible to
// group or others.
func LoadKey(path string) (Sealer, error) {
	f, err := os.Open(path)
	if err != nil {
		hint := ""
		if errors.Is(err, fs.ErrNotExist) {
			hint = "set TOKENWARDEN_KEY_FILE / --key-file to the key that encrypted this state, or create one with age-keygen -o " + path
		}
		return nil, &KeyError{Path: path, Msg: "cannot open", Hint: hint, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &KeyError{Path: path, Msg: "cannot stat", Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &KeyError{Path: path, Msg: "not a regular file"}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, &KeyError{
			Path: path,
			Msg:  fmt.Sprintf("is accessible by group or others (mode %04o)", perm),
			Hint: "chmod 600 " + path,
		}
	}
	ids, err := age.ParseIdentities(f)
	if err != nil {
		// age's parse errors do not quote key material.
		return nil, &KeyError{Path: path, Msg: "not an age identity file", Hint: "the file should hold one AGE-SECRET-KEY-1… line, as written by age-keygen", Err: err}
	}
	return x25519Sealer(ids, &KeyError{Path: path})
}

// LoadOrCreateKey is LoadKey, but first creates a new identity in path when
// the file does not exist (mode 0600; a missing parent directory is created
// with mode 0700). Creation is atomic: concurrent callers end up with the
// same key.
func LoadOrCreateKey(path string) (Sealer, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
	}
	return LoadKey(path)
}

func createKey(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &KeyError{Path: path, Msg: "cannot create directory", Err: err}
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return &KeyError{Path: path, Msg: "cannot generate key", Err: err}
	}
	var content bytes.Buffer
	fmt.Fprintf(&content, "# tokenwarden state key, created: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&content, "# public key: %s\n", id.Recipient())
	fmt.Fprintf(&content, "# Losing this file makes the secrets in the journal unreadable.\n")
	content.WriteString(id.String() + "\n")

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return &KeyError{Path: path, Msg: "cannot create", Err: err}
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	// CreateTemp uses 0600 already; be explicit against a future change.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return &KeyError{Path: path, Msg: "cannot create", Err: err}
	}
	if _, err := tmp.Write(content.Bytes()); err != nil {
		tmp.Close()
		return &KeyError{Path: path, Msg: "cannot write", Err: err}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return &KeyError{Path: path, Msg: "cannot write", Err: err}
	}
	if err := tmp.Close(); err != nil {
		return &KeyError{Path: path, Msg: "cannot write", Err: err}
	}
	// Link, unlike rename, fails when path exists: a concurrent creator's
	// key wins and is never replaced.
	if err := os.Link(tmpName, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return &KeyError{Path: path, Msg: "cannot create", Err: err}
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable; best effort (not every
// platform can fsync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
