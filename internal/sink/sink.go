// Package sink owns the contract between a rotation and the places a new
// secret is delivered to: the Sink interface, its sentinel errors and the
// error type that carries an operator hint. The implementations live in the
// sub-packages (gitlabvar, file, exec), each with its own YAML-tagged Config
// (defaults, Complete, Validate) that New checks and config decodes; all is
// the registry that maps a deliver: entry's kind to that Config and to New;
// sinktest is the conformance suite every implementation passes. A sink's ID
// (the Sink method) is the one name the journal records for it.
package sink

import (
	"context"
	"errors"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Sink is one consumer of a managed token's secret.
type Sink interface {
	// ID is the stable identity recorded in the journal, e.g.
	// "gitlab_variable:project:platform/infra/app:REGISTRY_TOKEN:*",
	// "file:/etc/app/registry.env#REGISTRY_TOKEN", "exec:systemctl reload app".
	ID() string
	// Describe names the sink for humans.
	Describe() string
	// Put delivers s. It compares before it writes: when the sink already
	// holds s it writes nothing and reports changed=false. A failed Put
	// leaves the previous value in place.
	Put(ctx context.Context, s secret.Secret) (changed bool, err error)
	// Get reads the value back: ErrNotFound when nothing is there,
	// ErrNotReadable for write-only sinks.
	Get(ctx context.Context) (secret.Secret, error)
}

var (
	// ErrNotFound: the sink holds no value (missing file, key or variable).
	ErrNotFound = errors.New("no value stored")
	// ErrNotReadable: the sink cannot be read back (exec hooks, hidden variables).
	ErrNotReadable = errors.New("sink cannot be read back")
)

// Error is a sink failure. Its message starts with the sink's kind
// ("sink file: …"); Hint, when set, tells the operator what to do about it:
// main prints it, like every problem.Hinter's.
type Error struct {
	Kind string // "file", "exec", "gitlab-variable"
	Err  error
	Hint string
}

func (e *Error) Error() string { return "sink " + e.Kind + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// HintText is Hint: main prints it under the error (see package problem).
func (e *Error) HintText() string { return e.Hint }

// Scrub replaces every occurrence of the given secrets in s with
// [REDACTED]. Sinks pass text from the outside world (a hook's stderr, an API
// message) through it before it can reach an error.
func Scrub(s string, secrets ...secret.Secret) string {
	for _, sec := range secrets {
		if v := sec.Reveal(); v != "" {
			s = strings.ReplaceAll(s, v, secret.Redacted)
		}
	}
	return s
}

// Meta describes the token being delivered, for sinks that can pass it on
// (exec exposes it as TOKENWARDEN_TOKEN_NAME / TOKENWARDEN_TOKEN_EXPIRES_AT).
type Meta struct {
	TokenName string
	ExpiresAt time.Time // zero: unknown or never
}

type metaKey struct{}

// WithMeta returns a context carrying m for the Put calls made with it.
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// MetaFrom returns the Meta stored by WithMeta, if any.
func MetaFrom(ctx context.Context) (Meta, bool) {
	m, ok := ctx.Value(metaKey{}).(Meta)
	return m, ok
}
