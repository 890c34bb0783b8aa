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
	// Put delivers c: its token, and its username where the sink is
	// configured to deliver one (a sink configured for a username refuses
	// a credential without one; one that is not ignores it). It compares
	// before it writes: when the sink already holds c it writes nothing
	// and reports changed=false. A failed Put leaves the previous value in
	// place, or — for a sink that writes its fields in separate calls —
	// says which field is left to write, which the next Put writes.
	Put(ctx context.Context, c secret.Credential) (changed bool, err error)
	// Get reads the value back: ErrNotFound when nothing is there (or a
	// configured field is missing), ErrNotReadable for write-only sinks.
	// The username is the one the sink holds, "" when it holds none.
	Get(ctx context.Context) (secret.Credential, error)
}

// Holds reports whether got, read back from a sink, holds want: the same
// token and, when both have one, the same username. A sink that delivers no
// username reads back none; a username written next to a token that has
// none (kubernetes_secret's default "oauth2") is not compared.
func Holds(got, want secret.Credential) bool {
	if !got.Token.Equal(want.Token) {
		return false
	}
	return got.Username == "" || want.Username == "" || got.Username == want.Username
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
