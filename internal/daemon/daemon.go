// Package daemon owns tokenwarden's long-running loop: it resumes unfinished
// rotations, sleeps on the injected clock until the next managed token is due
// (or an overlap rotation may retire its old token), rotates it, rescans the
// instance every scan interval into an in-memory State for the dashboard and
// metrics, and tells the notifier what happened. It never polls: between two
// due times it sleeps on a single clock.Timer.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/metrics"
)

// DefaultRetryAfter is how long a token whose rotation failed (or could not
// be planned) waits before the daemon tries it again. After each further
// failed rotation in a row the wait doubles, up to MaxRetryAfter: a
// rotation GitLab refuses for good would otherwise add a journal row and a
// "rotation failed" notification every few minutes for ever.
const DefaultRetryAfter = 5 * time.Minute

// MaxRetryAfter caps the doubled wait after failed rotations.
const MaxRetryAfter = 6 * time.Hour

// DefaultShutdownGrace is how long a rotation in progress may go on after
// shutdown was asked for; after that it is left parked in the journal.
const DefaultShutdownGrace = 30 * time.Second

// Deps is what the daemon works with. Everything is passed in.
type Deps struct {
	Engine *engine.Engine
	Store  journal.Store
	// GitLab is the managing client used for the periodic scan. Nil: no
	// scans (the scheduler still runs).
	GitLab *gitlab.Client
	Clock  clock.Clock
	Log    *slog.Logger
	// Config is the configuration the daemon starts with.
	Config *config.Config
	// LoadConfig re-reads the configuration on Reload. Nil: Reload only
	// re-plans with the current configuration.
	LoadConfig func() (*config.Config, error)
	// Notifier receives rotated / failed / expiring / expired / new-finding
	// events. Nil: no notifications.
	Notifier Notifier
	// RetryAfter: see DefaultRetryAfter (0 → default).
	RetryAfter time.Duration
	// ShutdownGrace: see DefaultShutdownGrace (0 → default).
	ShutdownGrace time.Duration
	// Leading, when set, is closed once this daemon leads (Leader.Leading):
	// until then Run does nothing but wait, and Leading reports false.
	// Nil: the daemon leads from the start.
	Leading <-chan struct{}
	// Fence, when closed, stops the rotation in progress at once, without
	// the shutdown grace: the daemon lost its leadership (Leader.Lost), and
	// another one may already be resuming the same rotation. Nil: never.
	Fence <-chan struct{}
	// OnSleep, when set, is called each time the scheduler goes to sleep,
	// with the time it wakes up next. Tests use it to know the daemon idles.
	OnSleep func(until time.Time)
	// ScanGroups limits the scan to these groups; empty: every group the
	// managing token can see.
	ScanGroups []string
	// ScanConcurrency is the scan's list calls in flight; 0: the
	// inventory's default. A deterministic simulation scans with 1, so
	// that the order of requests follows from its seed.
	ScanConcurrency int
	// Renewer renews the managing token inside its renewal window
	// (gitlab.self_rotate); nil: never.
	Renewer *managing.Renewer
}

// Daemon is the scheduler. Create it with New, run it with Run.
type Daemon struct {
	d        Deps
	wake     chan struct{}
	requests chan rotateRequest
	stopped  chan struct{} // closed when Run returns
	stopOnce sync.Once

	mu      sync.RWMutex
	cfg     *config.Config
	state   State
	backoff map[string]time.Time // ref → not before
	fails   map[string]int       // ref → rotations failed in a row
	prev    map[string]bool      // "kind:id/code" findings of unmanaged tokens at the last scan
	active  map[Key]bool         // tokens active at the last scan

	rotations metrics.Rotations // finished rotations, for /metrics

	// The last plan, of the config lastCfg, and when the last full one was
	// made (see plan): Run's loop alone uses them.
	last    *engine.Plan
	lastCfg *config.Config
	fullAt  time.Time
}

type rotateRequest struct {
	ref   string
	reply chan rotateReply
}

type rotateReply struct {
	out engine.Outcome
	err error
}

// ErrUnknownToken is returned by RotateNow for a ref that is not in the config.
var ErrUnknownToken = errors.New("no such managed token in the config")

// ErrStopped is returned by RotateNow once Run has returned.
var ErrStopped = errors.New("the daemon is shutting down")

// New returns a daemon. It does nothing until Run.
func New(d Deps) *Daemon {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.RetryAfter <= 0 {
		d.RetryAfter = DefaultRetryAfter
	}
	if d.ShutdownGrace <= 0 {
		d.ShutdownGrace = DefaultShutdownGrace
	}
	return &Daemon{
		d:        d,
		cfg:      d.Config,
		wake:     make(chan struct{}, 1),
		requests: make(chan rotateRequest),
		stopped:  make(chan struct{}),
		backoff:  map[string]time.Time{},
		fails:    map[string]int{},

		rotations: metrics.NewRotations(strategyNames()...),
	}
}

// Config is the configuration in effect.
func (d *Daemon) Config() *config.Config {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cfg
}

// Reload re-reads the configuration (Deps.LoadConfig) and wakes the
// scheduler so that new tokens are planned at once, and tokens waiting after
// a failure are tried again at once (the operator may have fixed the cause).
// A configuration that does not load is reported and the old one stays in
// effect.
func (d *Daemon) Reload() error {
	if d.d.LoadConfig != nil {
		cfg, err := d.d.LoadConfig()
		if err != nil {
			d.d.Log.Error("reload config: keeping the previous configuration", "err", err)
			return fmt.Errorf("reload config: %w", err)
		}
		d.mu.Lock()
		d.cfg = cfg
		clear(d.backoff)
		clear(d.fails)
		d.mu.Unlock()
		d.d.Log.Info("config reloaded", "tokens", len(cfg.Tokens))
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// RotateNow asks the scheduler to rotate the managed token ref at once and
// waits until it has run (or ctx ends). The rotation itself goes on even if
// ctx ends first.
func (d *Daemon) RotateNow(ctx context.Context, ref string) (engine.Outcome, error) {
	req := rotateRequest{ref: ref, reply: make(chan rotateReply, 1)}
	select {
	case d.requests <- req:
	case <-d.stopped:
		return engine.Outcome{}, ErrStopped
	case <-ctx.Done():
		return engine.Outcome{}, ctx.Err()
	}
	// Run answers every request it took before it returns.
	select {
	case r := <-req.reply:
		return r.out, r.err
	case <-ctx.Done():
		return engine.Outcome{}, ctx.Err()
	}
}

// State is a copy of what the daemon knows now.
func (d *Daemon) State() State {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.state
}

// Leading reports whether this daemon leads (Deps.Leading); one standing by
// does nothing while another daemon on the shared state works.
func (d *Daemon) Leading() bool {
	if d.d.Leading == nil {
		return true
	}
	select {
	case <-d.d.Leading:
		return true
	default:
		return false
	}
}

// Ready reports whether the first scan is done.
func (d *Daemon) Ready() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.state.Scanned
}

// strategyNames are the rotation strategies as the journal and the metrics
// name them.
func strategyNames() []string {
	out := make([]string, len(config.Strategies))
	for i, s := range config.Strategies {
		out[i] = string(s)
	}
	return out
}
