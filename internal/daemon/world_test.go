package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	mgmt "gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

var rootToken = simtest.RootToken

// start is midnight UTC, so that "due in 10 days" is an exact instant.
var start = simtest.Now.Truncate(24 * time.Hour)

// world is an emulated GitLab with group acme and project acme/app, a
// config file managing tokens there, and a journal.
type world struct {
	*simtest.World
	t      *testing.T
	sealer secret.Sealer
	events *recorder
	// managing is the managing token daemons start with; "" → rootToken.
	managing string
	// fence is passed to daemons as Deps.Fence.
	fence chan struct{}
	// leading is passed to daemons as Deps.Leading.
	leading chan struct{}
	// selfRotate gives daemons a managing token renewer (gitlab.self_rotate).
	selfRotate bool
}

func newWorld(t *testing.T) *world { return newWorldWith(t, simtest.WorldOptions{}) }

// newWorldWith is newWorld on an emulator shaped by o (its Instance and
// Wrap; the clock, root token and seed are newWorld's).
func newWorldWith(t *testing.T, o simtest.WorldOptions) *world {
	t.Helper()
	w := &world{t: t, events: &recorder{}}
	o.Start, o.RootToken, o.Seed = start, rootToken, 1
	w.World = simtest.NewWorld(t, o)
	w.ClientsOnFakeClock = true
	w.Write("root.token", rootToken+"\n")
	var err error
	if w.sealer, err = secret.LoadOrCreateKey(filepath.Join(w.Dir, "tw.key")); err != nil {
		t.Fatal(err)
	}
	return w
}

// token creates project token name in acme/app that expires expiresIn after
// start, created lifetime before its expiry.
func (w *world) token(name string, expiresIn, lifetime time.Duration) sim.Token {
	w.t.Helper()
	exp := start.Add(expiresIn)
	tok, _, err := w.Srv.CreateAccessToken("project", w.Project.ID, sim.TokenSpec{
		Name: name, Description: "managed " + name, Scopes: []string{"read_api"}, AccessLevel: 20,
		CreatedAt: exp.Add(-lifetime), ExpiresAt: &exp,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// managedWorld is a world whose config (writeConfig) manages one token,
// name, with strategy overlap: token(name, expiresIn, lifetime), returned.
func managedWorld(t *testing.T, name string, expiresIn, lifetime time.Duration) (*world, sim.Token) {
	t.Helper()
	w := newWorld(t)
	tok := w.token(name, expiresIn, lifetime)
	w.writeConfig(tokenSpec{name, "overlap"})
	return w, tok
}

type tokenSpec struct{ name, strategy string }

// writeConfig writes the config managing specs (rotate 10 days before
// expiry, grace 1s, each delivered to <name>.env).
// Tokens made by w.token are adopted with adopt: wait, so that they rotate
// on their schedule (TestAdoptedTokenDeliveredAtOnce covers the default).
func (w *world) writeConfig(specs ...tokenSpec) {
	w.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "gitlab: {url: %s, token_file: root.token}\nstate: sqlite://tw.db\nkey_file: tw.key\n", w.URL)
	b.WriteString("defaults: {lifetime: 40d, rotate_before: 10d, grace: 1s, adopt: wait}\nserve: {scan_interval: 30d}\ntokens:\n")
	for _, s := range specs {
		fmt.Fprintf(&b, "  - name: %s\n    description: managed %s\n    project: acme/app\n    scopes: [read_api]\n    access_level: reporter\n    strategy: %s\n    deliver:\n      - file: {path: %s.env, format: dotenv, key: TOKEN}\n", s.name, s.name, s.strategy, s.name)
	}
	w.Write("tw.yaml", b.String())
}

func (w *world) loadConfig() *config.Config {
	w.t.Helper()
	cfg, err := config.Load(filepath.Join(w.Dir, "tw.yaml"))
	if err != nil {
		w.t.Fatal(err)
	}
	return cfg
}

func (w *world) client(s secret.Secret) *gitlab.Client { return w.Client(s) }

// proc is one daemon process: its own journal handle, engine and daemon.
type proc struct {
	d       *daemon.Daemon
	store   journal.Store
	sleeps  chan time.Time
	cancel  context.CancelFunc
	stopped chan error
}

// start starts a daemon as a new process would (journal opened afresh);
// fault is the engine's fault hook.
func (w *world) start(fault func(*journal.Rotation, journal.Step, bool) error) *proc {
	w.t.Helper()
	cfg := w.loadConfig()
	st := w.OpenJournal(cfg.State, w.sealer)
	tok := rootToken
	if w.managing != "" {
		tok = w.managing
	}
	managing := w.client(secret.New(tok))
	eng := w.Engine(managing, st, fault)
	p := &proc{store: st, sleeps: make(chan time.Time, 100), stopped: make(chan error, 1)}
	var renewer *mgmt.Renewer
	if w.selfRotate {
		renewer = &mgmt.Renewer{Client: managing, Store: st, Clock: w.Clock, Config: cfg}
	}
	p.d = daemon.New(daemon.Deps{
		Renewer: renewer,
		Engine:  eng, Store: st, GitLab: managing, Clock: w.Clock, Config: cfg,
		LoadConfig: func() (*config.Config, error) { return config.Load(filepath.Join(w.Dir, "tw.yaml")) },
		Notifier:   w.events,
		OnSleep:    func(until time.Time) { p.sleeps <- until },
		Fence:      w.fence,
		Leading:    w.leading,
	})
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.stopped <- p.d.Run(ctx) }()
	w.t.Cleanup(func() { p.stop(w.t) })
	return p
}

// asleep waits until the daemon sleeps and returns when it wakes up next.
func (p *proc) asleep(t *testing.T) time.Time {
	t.Helper()
	select {
	case until := <-p.sleeps:
		return until
	case err := <-p.stopped:
		t.Fatalf("daemon stopped: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not go to sleep within 20s")
	}
	return time.Time{}
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.stopped:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop within 20s of cancel")
	}
}

// rotations lists the journal's rotations of the token named name.
func (p *proc) rotations(t *testing.T, name string) []*journal.Rotation {
	t.Helper()
	list, err := p.store.List(context.Background(), journal.Filter{Ref: "project/acme/app:" + name})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// live returns the active, unrevoked tokens named name.
func (w *world) live(name string) []sim.Token {
	var out []sim.Token
	for _, t := range w.Srv.Tokens() {
		if t.Name == name && t.Active && !t.Revoked {
			out = append(out, t)
		}
	}
	return out
}

// managingToken makes daemons run with the personal token "tokenwarden" of
// user tw, Owner of acme, which expires expiresIn after start.
func (w *world) managingToken(expiresIn time.Duration) sim.Token {
	w.t.Helper()
	u, err := w.Srv.CreateUser("tw", false)
	if err != nil {
		w.t.Fatal(err)
	}
	g, _ := w.Srv.GroupByPath("acme")
	if err := w.Srv.AddMember("group", g.ID, u.ID, 50); err != nil {
		w.t.Fatal(err)
	}
	exp := start.Add(expiresIn)
	tok, sec, err := w.Srv.CreatePersonalToken(u.ID, sim.TokenSpec{Name: "tokenwarden", Scopes: []string{"api"}, ExpiresAt: &exp})
	if err != nil {
		w.t.Fatal(err)
	}
	w.managing = sec
	return tok
}

// editConfig replaces old with new in the config file writeConfig wrote,
// and adds extra at its end.
func (w *world) editConfig(old, new, extra string) {
	w.t.Helper()
	b := string(w.ReadFile("tw.yaml"))
	if !strings.Contains(b, old) {
		w.t.Fatalf("the config has no %q", old)
	}
	w.Write("tw.yaml", strings.Replace(b, old, new, 1)+extra)
}

// fileSecret reads TOKEN= from <name>.env.
func (w *world) fileSecret(name string) string {
	w.t.Helper()
	for _, line := range strings.Split(string(w.ReadFile(name+".env")), "\n") {
		if v, ok := strings.CutPrefix(line, "TOKEN="); ok {
			return v
		}
	}
	w.t.Fatalf("%s.env has no TOKEN", name)
	return ""
}

// whoami is the id of the token whose secret is s (0: rejected).
func (w *world) whoami(s string) int64 {
	pat, err := w.client(secret.New(s)).SelfToken(context.Background())
	if err != nil {
		return 0
	}
	return pat.ID
}

// recorder is a Notifier that remembers events.
type recorder struct {
	mu     sync.Mutex
	events []notify.Event
}

func (r *recorder) Notify(_ context.Context, e notify.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) kinds(ref string) []notify.Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []notify.Kind
	for _, e := range r.events {
		if e.TokenRef == ref {
			out = append(out, e.Kind)
		}
	}
	return out
}
