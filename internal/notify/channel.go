package notify

import (
	"context"
	"errors"
)

// Channel delivers an event to one destination (a webhook, a Slack channel,
// a list of mail recipients).
type Channel interface {
	// ID names the channel in logs and in de-duplication keys, e.g.
	// "webhook-1a2b3c4d". It is stable across restarts (derived from the
	// destination, hashed where the destination is a secret) and never
	// contains a secret.
	ID() string
	// Send delivers e once. deliveryID is the same for every attempt of one
	// delivery so that receivers can drop repeats. Errors never contain a
	// secret; wrap them with Permanent when retrying cannot help.
	Send(ctx context.Context, deliveryID string, e Event) error
}

// permanentError marks a failure that retrying cannot fix (a 4xx answer, a
// rejected recipient).
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent wraps err so that the Notifier does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err (or an error it wraps) came from Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
