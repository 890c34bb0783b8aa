package file

import (
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// codec reads and replaces the credential a file holds. Put writes what set
// returns in one atomic replace, so a token and its username are always
// written together.
type codec interface {
	// get returns the credential the content holds; ok is false when a
	// field the sink writes is missing.
	get(content []byte) (c secret.Credential, ok bool, err error)
	set(content []byte, c secret.Credential) ([]byte, error)
	// usesUsername reports whether the file holds a username.
	usesUsername() bool
}

// keyed holds the token under key and, when usernameKey is set, the
// username under usernameKey, in a format that edits one key at a time
// (dotenv, JSON, YAML, raw).
type keyed struct {
	f                format
	key, usernameKey string
}

func (k keyed) usesUsername() bool { return k.usernameKey != "" }

func (k keyed) get(content []byte) (secret.Credential, bool, error) {
	tok, ok, err := k.f.get(content, k.key)
	if err != nil || !ok {
		return secret.Credential{}, false, err
	}
	c := secret.TokenOnly(secret.New(tok))
	if k.usernameKey != "" {
		if c.Username, ok, err = k.f.get(content, k.usernameKey); err != nil || !ok {
			return secret.Credential{}, false, err
		}
	}
	return c, true, nil
}

func (k keyed) set(content []byte, c secret.Credential) ([]byte, error) {
	next, err := k.f.set(content, k.key, c.Token.Reveal())
	if err != nil || k.usernameKey == "" {
		return next, err
	}
	return k.f.set(next, k.usernameKey, c.Username)
}
