package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// Sealer encrypts secrets for storage at rest and decrypts them again.
type Sealer interface {
	Seal(Secret) ([]byte, error)
	Open([]byte) (Secret, error)
}

// ErrOpen is wrapped when sealed bytes cannot be decrypted: a different key,
// or damaged data.
var ErrOpen = errors.New("cannot decrypt sealed secret")

// ageSealer seals with an age X25519 identity: the sealed form is a binary
// age file encrypted to the identity's own recipient.
type ageSealer struct {
	id *age.X25519Identity
}

// NewAgeSealer returns a Sealer for an age X25519 identity.
func NewAgeSealer(id *age.X25519Identity) Sealer { return ageSealer{id: id} }

func (s ageSealer) Seal(v Secret) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, s.id.Recipient())
	if err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	if _, err := io.WriteString(w, v.Reveal()); err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	return buf.Bytes(), nil
}

func (s ageSealer) Open(b []byte) (Secret, error) {
	r, err := age.Decrypt(bytes.NewReader(b), s.id)
	if err != nil {
		// age's errors never contain plaintext; keep them for diagnosis.
		return Secret{}, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	v, err := io.ReadAll(r)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	return New(string(v)), nil
}
