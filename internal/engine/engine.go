// Package engine owns the rotation state machine: it renews managed tokens
// before they expire, hands the new secret to every sink, proves it works and
// only then retires the old one. Every step is committed to the journal before
// the next begins, so a crash at any point is resumed without minting twice.
package engine

import (
	"context"
	"errors"
	"log/slog"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// Deps is what the engine works with. Everything is passed in; nothing is global.
type Deps struct {
	// GitLab is the managing client (Owner/Maintainer token). It may be nil
	// when every managed token uses the self strategy.
	GitLab *gitlab.Client
	// ClientFor returns a client authenticated with a managed token's own
	// secret: used to verify a new secret and for the self strategy.
	ClientFor func(secret.Secret) (*gitlab.Client, error)
	Store     journal.Store
	Clock     clock.Clock
	Log       *slog.Logger
	// Sinks builds the delivery targets of a configured token.
	Sinks func(config.Token) ([]sink.Sink, error)
	// Fault, when set, is the crash hook around each step: tests use it to
	// prove that every step can be resumed.
	Fault journal.Fault
	// MaxAttempts is how often an overlap rotation that cannot mint its
	// token is tried before it is marked failed; 0 means 5. Once minted, or
	// when its mint kills the old token (rotate, self, reset), a rotation is
	// never given up: it is resumed until every sink holds the new secret.
	MaxAttempts int
	// Concurrency is how many tokens Apply, Resume and RunAll rotate at
	// once (the steps of one token always run in order); 0 means
	// DefaultConcurrency.
	Concurrency int
}

// Engine runs rotations.
type Engine struct {
	d    Deps
	dest destinations
	jc   journalCache
}

// New returns an engine.
func New(d Deps) *Engine {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = 5
	}
	if d.Concurrency <= 0 {
		d.Concurrency = DefaultConcurrency
	}
	return &Engine{d: d}
}

// ErrCrash is what a Fault hook returns to simulate a crash.
var ErrCrash = errors.New("engine: simulated crash")

// ErrWaiting is returned for an overlap rotation whose new secret is delivered
// and verified, while the old token stays alive until its grace period ends.
var ErrWaiting = errors.New("waiting for the grace period before revoking the old token")

func (e *Engine) managing() (*gitlab.Client, error) {
	if e.d.GitLab == nil {
		return nil, errors.New("no managing GitLab token configured (gitlab.token_env)")
	}
	return e.d.GitLab, nil
}

func (e *Engine) journalSteps() journal.Steps {
	return journal.Steps{Store: e.d.Store, Now: e.d.Clock.Now, Fault: e.d.Fault, Log: e.d.Log, Msg: "rotation step"}
}

// commit journals r at step with detail, then gives the fault hook its turn.
func (e *Engine) commit(ctx context.Context, r *journal.Rotation, step journal.Step, detail string) error {
	return e.journalSteps().Commit(ctx, r, step, detail)
}

// Sinks returns the delivery targets of tok.
func (e *Engine) Sinks(tok config.Token) ([]sink.Sink, error) { return e.d.Sinks(tok) }

// strategyOf is the strategy a journaled rotation runs with.
func strategyOf(r *journal.Rotation) config.Strategy { return config.Strategy(r.Strategy) }
