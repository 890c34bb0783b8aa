package simtest

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Counting is a WorldOptions.Wrap that calls seen with the path of every
// request of method whose path matches pattern, before the emulator serves it.
func Counting(method, pattern string, seen func(path string)) func(http.Handler) http.Handler {
	re := regexp.MustCompile(pattern)
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.Method == method && re.MatchString(r.URL.Path) {
				seen(r.URL.Path)
			}
			h.ServeHTTP(rw, r)
		})
	}
}

// Load loads the config name (relative to Dir) and its key into Cfg and
// Sealer.
func (w *World) Load(name string) {
	w.T.Helper()
	w.Cfg, w.Sealer = w.LoadConfig(name)
}

// Reopen closes the journal Store holds, if any, and opens Cfg's journal
// afresh into Store, as a new process would.
func (w *World) Reopen() journal.Store {
	w.T.Helper()
	if w.Store != nil {
		w.Store.Close()
	}
	w.Store = w.OpenJournal(w.Cfg.State, w.Sealer)
	return w.Store
}

// NewEngine reopens the journal and builds on it the engine a process
// builds from Cfg, managed with the emulator's administrator token, with
// fault (after Spy) as its crash hook.
func (w *World) NewEngine(fault journal.Fault) *engine.Engine {
	w.T.Helper()
	w.Reopen()
	hook := fault
	if w.Spy != nil {
		hook = func(r *journal.Rotation, step journal.Step, after bool) error {
			if err := w.Spy(r, step, after); err != nil || fault == nil {
				return err
			}
			return fault(r, step, after)
		}
	}
	return w.Engine(w.Client(secret.New(w.rootToken)), w.Store, hook)
}

// Run runs plan + apply of Cfg once with e.
func (w *World) Run(e *engine.Engine) []engine.Outcome {
	w.T.Helper()
	return w.Apply(e, w.Cfg)
}

// RunToEnd is Finish of Cfg, each run by a new process (NewEngine(nil)).
func (w *World) RunToEnd() {
	w.T.Helper()
	w.Finish(w.Cfg, func() (*engine.Engine, journal.Store) { return w.NewEngine(nil), w.Store })
}

// Apply runs plan + apply of cfg once with e.
func (w *World) Apply(e *engine.Engine, cfg *config.Config) []engine.Outcome {
	w.T.Helper()
	ctx := context.Background()
	p, err := e.Plan(ctx, cfg)
	if err != nil {
		w.T.Fatalf("plan: %v", err)
	}
	outs, err := e.Apply(ctx, cfg, p)
	if err != nil {
		w.T.Fatalf("apply: %v", err)
	}
	return outs
}

// Finish re-runs Apply as new processes would (newEngine opens the journal
// afresh and builds an engine on it), 2 seconds apart so that a grace period
// of a second passes, until the journal holds no unfinished rotation. A
// failed rotation, or one still unfinished after 4 runs, fails the test.
func (w *World) Finish(cfg *config.Config, newEngine func() (*engine.Engine, journal.Store)) {
	w.T.Helper()
	for range 4 {
		w.Clock.Advance(2 * time.Second)
		e, store := newEngine()
		for _, o := range w.Apply(e, cfg) {
			if o.Status == engine.StatusFailed && o.Rotation != nil {
				w.T.Fatalf("rotation of %s failed: %v", o.Rotation.Ref, o.Err)
			}
			if o.Status == engine.StatusFailed {
				w.T.Fatalf("rotation failed: %v", o.Err)
			}
		}
		un, err := store.Unfinished(context.Background())
		if err != nil {
			w.T.Fatal(err)
		}
		if len(un) == 0 {
			return
		}
	}
	w.T.Fatal("rotations still unfinished after 4 runs")
}
