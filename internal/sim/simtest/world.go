package simtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/all"
)

// World is what the engine, daemon and managing-token tests share: an
// emulated GitLab on a fake clock with group acme and project acme/app, a
// directory for a config and its journal, and the pieces a tokenwarden
// process builds from them (clients, a journal opened afresh, an engine).
type World struct {
	T       testing.TB
	Clock   *clock.Fake
	Srv     *sim.Server
	URL     string // base URL, without /api/v4
	Dir     string
	Group   sim.Group
	Project sim.Project
	// Timeout is every client's per-request deadline; 0: the default.
	Timeout time.Duration
	// ClientsOnFakeClock puts the clients' pacing (Retry-After, rate-limit
	// waits) on Clock; otherwise they wait in real time.
	ClientsOnFakeClock bool

	// Cfg and Sealer are the config Load loaded and the key its journal is
	// sealed with; Store is the journal Reopen opened last.
	Cfg    *config.Config
	Sealer secret.Sealer
	Store  journal.Store
	// Spy, when set, is called at every fault point of the engines
	// NewEngine builds, before their fault hook: to count or watch steps.
	Spy journal.Fault
	// Sinks, when set, gives the engines Engine builds their sinks, in
	// place of the config's deliver: entries.
	Sinks func(config.Token) ([]sink.Sink, error)

	rootToken string // WorldOptions.RootToken
}

// RootToken is the administrator token tests give the emulator
// (sim.Options.RootToken) and their clients: made afresh for each test
// binary, so that no token-shaped constant sits in the source.
var RootToken = "glpat-" + rand.Text()

// Now is the instant tests start their fake clocks at.
var Now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// WorldOptions shape a World.
type WorldOptions struct {
	Start     time.Time // the clock's start
	RootToken string    // the emulator's administrator token
	Seed      int64
	// Wrap, when set, wraps the emulator's handler (to count or hold requests).
	Wrap func(http.Handler) http.Handler
	// Instance seeds the emulator's instance (Groups, ProjectsPerGroup,
	// TokensPerProject …); its Clock, RootToken and Seed are the ones above.
	Instance sim.Options
}

// NewWorld starts the emulator (served until the test ends) and creates
// acme and acme/app.
func NewWorld(t testing.TB, o WorldOptions) *World {
	t.Helper()
	w := &World{T: t, Clock: clock.NewFake(o.Start), Dir: t.TempDir(), rootToken: o.RootToken}
	so := o.Instance
	so.Clock, so.RootToken, so.Seed = w.Clock, o.RootToken, o.Seed
	srv, err := sim.New(so)
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	var h http.Handler = srv
	if o.Wrap != nil {
		h = o.Wrap(srv)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	w.Srv, w.URL = srv, ts.URL
	if w.Group, err = srv.CreateGroup("acme", 0); err != nil {
		t.Fatal(err)
	}
	if w.Project, err = srv.CreateProject("app", w.Group.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

// Write writes name (relative to Dir) with mode 0600 and returns its path.
func (w *World) Write(name, content string) string {
	w.T.Helper()
	path := filepath.Join(w.Dir, name)
	WriteFile(w.T, path, content)
	return path
}

// ReadFile reads name (relative to Dir); an error fails the test.
func (w *World) ReadFile(name string) []byte {
	w.T.Helper()
	b, err := os.ReadFile(filepath.Join(w.Dir, name))
	if err != nil {
		w.T.Fatal(err)
	}
	return b
}

// WriteFile writes path with mode 0600.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// LoadConfig loads name (relative to Dir) and the key its journal is sealed with.
func (w *World) LoadConfig(name string) (*config.Config, secret.Sealer) {
	w.T.Helper()
	cfg, err := config.Load(filepath.Join(w.Dir, name))
	if err != nil {
		w.T.Fatal(err)
	}
	sealer, err := secret.LoadOrCreateKey(cfg.KeyFile)
	if err != nil {
		w.T.Fatal(err)
	}
	return cfg, sealer
}

// Client is a GitLab client with secret s, on the world's clock.
func (w *World) Client(s secret.Secret) *gitlab.Client {
	w.T.Helper()
	c, err := w.newClient(s)
	if err != nil {
		w.T.Fatal(err)
	}
	return c
}

func (w *World) newClient(s secret.Secret) (*gitlab.Client, error) {
	cfg := gitlab.Config{URL: w.URL, Token: s, RetryMax: 1, Timeout: w.Timeout}
	if w.ClientsOnFakeClock {
		cfg.Clock = w.Clock
	}
	return gitlab.New(cfg)
}

// OpenJournal opens the journal at state afresh, as a new process would; it
// is closed when the test ends.
func (w *World) OpenJournal(state string, sealer secret.Sealer) journal.Store {
	w.T.Helper()
	st, err := journal.Open(context.Background(), state, sealer, w.Clock)
	if err != nil {
		w.T.Fatal(err)
	}
	w.T.Cleanup(func() { st.Close() })
	return st
}

// Engine builds the engine a process builds: managing is the managing
// client, managed tokens' own secrets get clients of their own, sinks
// come from the config's deliver: entries (or Sinks), and once Load has
// loaded a config, its concurrency applies.
func (w *World) Engine(managing *gitlab.Client, st journal.Store, fault func(*journal.Rotation, journal.Step, bool) error) *engine.Engine {
	d := engine.Deps{
		GitLab:    managing,
		ClientFor: w.newClient,
		Store:     st, Clock: w.Clock, Fault: fault,
		Sinks: func(tok config.Token) ([]sink.Sink, error) {
			return all.NewAll(tok.Deliver, all.Deps{GitLab: managing, Owner: tok.Ref()})
		},
	}
	if w.Sinks != nil {
		d.Sinks = w.Sinks
	}
	if w.Cfg != nil {
		d.Concurrency = w.Cfg.Concurrency
	}
	return engine.New(d)
}

// CrashPoint is a fault hook that crashes (engine.ErrCrash) at its k-th
// call, the k-th fault point of a run, and remembers where that was.
type CrashPoint struct {
	K  int
	n  int
	At string // "step after=bool" once crashed; "" while not reached
}

// Hook is the journal.Fault to give an engine or a renewer.
func (c *CrashPoint) Hook(_ *journal.Rotation, step journal.Step, after bool) error {
	c.n++
	if c.n == c.K {
		c.At = fmt.Sprintf("%s after=%v", step, after)
		return engine.ErrCrash
	}
	return nil
}

// Reached reports whether the hook has been called K times.
func (c *CrashPoint) Reached() bool { return c.n >= c.K }
