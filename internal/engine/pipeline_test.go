package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// fleet is one emulated GitLab with n managed tokens "deploy-0" … in
// project acme/app, all due, each delivered to its own key of one shared
// dotenv file and to a CI/CD variable of its own, rotated concurrency at once.
type fleet struct {
	*simtest.World
	t       *testing.T
	n       int
	old     map[string]int64 // name → old token id
	creates atomic.Int64
	// inFlight and maxInFlight count rotations between their start and
	// their verification (planned … verified): how many ran side by side.
	inFlight, maxInFlight atomic.Int64
}

func newFleet(t *testing.T, strategy string, n, concurrency int) *fleet {
	t.Helper()
	f := &fleet{t: t, n: n, old: map[string]int64{}}
	f.World = simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 11,
		Wrap: simtest.Counting(http.MethodPost, `/access_tokens$`, func(string) { f.creates.Add(1) })})
	f.Spy = f.countInFlight
	exp := start.AddDate(0, 0, 5).Truncate(24 * time.Hour)
	env := "# shared by every deploy token\nLOG_LEVEL=info\n"
	var toks strings.Builder
	for i := range n {
		name := fmt.Sprintf("deploy-%d", i)
		tok, sec, err := f.Srv.CreateAccessToken("project", f.Project.ID, sim.TokenSpec{
			Name: name, Description: "pulls images", Scopes: []string{"read_api", "self_rotate"},
			AccessLevel: 20, CreatedAt: start.AddDate(0, 0, -85), ExpiresAt: &exp,
		})
		if err != nil {
			t.Fatal(err)
		}
		f.old[name] = tok.ID
		env += fmt.Sprintf("TOKEN_%d=%s\n", i, sec)
		self := ""
		if strategy == "self" {
			f.Write(name+".token", sec+"\n")
			self = fmt.Sprintf("    token_file: %s.token\n", name)
		}
		fmt.Fprintf(&toks, `  - name: %s
    description: pulls images
    project: acme/app
    scopes: [read_api, self_rotate]
    access_level: reporter
    strategy: %s
%s    deliver:
      - file: {path: app.env, format: dotenv, key: TOKEN_%d}
      - gitlab_variable: {project: acme/app, key: TOKEN_%d, masked: true}
`, name, strategy, self, i, i)
	}
	f.Write("app.env", env)
	f.Write("root.token", rootToken+"\n")
	f.Write("tw.yaml", fmt.Sprintf("gitlab: {url: %s, token_file: root.token}\nstate: sqlite://tw.db\nkey_file: tw.key\nconcurrency: %d\ndefaults: {lifetime: 30d, grace: 1s}\ntokens:\n%s", f.URL, concurrency, toks.String()))
	f.Load("tw.yaml")
	if f.Cfg.Concurrency != concurrency {
		t.Fatalf("config concurrency %d, want %d", f.Cfg.Concurrency, concurrency)
	}
	return f
}

// countInFlight is the fleet's Spy: it counts the rotations in flight.
func (f *fleet) countInFlight(_ *journal.Rotation, step journal.Step, after bool) error {
	if step == journal.StepPlanned && after {
		n := f.inFlight.Add(1)
		for m := f.maxInFlight.Load(); n > m && !f.maxInFlight.CompareAndSwap(m, n); m = f.maxInFlight.Load() {
		}
	}
	if (step == journal.StepVerified || step == journal.StepFailed) && after {
		f.inFlight.Add(-1)
	}
	return nil
}

// check asserts, for every token: exactly one live token of its name, not
// the old one, the old one revoked, its key of the shared file and its
// variable holding the live secret; overlap created each token once (a
// lost create is recovered by rotating what it made), and the file kept
// its other lines.
func (f *fleet) check(strategy string) {
	f.t.Helper()
	env := dotenv(f.World, "app.env")
	if env["LOG_LEVEL"] != "info" {
		f.t.Errorf("app.env lost LOG_LEVEL: %v", env)
	}
	for i := range f.n {
		name := fmt.Sprintf("deploy-%d", i)
		var live []sim.Token
		for _, tok := range f.Srv.Tokens() {
			if tok.Name == name && tok.Active && !tok.Revoked {
				live = append(live, tok)
			}
		}
		if len(live) != 1 {
			f.t.Errorf("%s: want exactly one live token, got %d", name, len(live))
			continue
		}
		if old, _ := f.Srv.Token(f.old[name]); live[0].ID == old.ID || !old.Revoked {
			f.t.Errorf("%s: old token %d still live (revoked=%v), live token %d", name, old.ID, old.Revoked, live[0].ID)
		}
		key := fmt.Sprintf("TOKEN_%d", i)
		pat, err := f.Client(secret.New(env[key])).SelfToken(context.Background())
		if err != nil || pat.ID != live[0].ID {
			f.t.Errorf("%s: app.env %s is not the live token %d's secret (%v)", name, key, live[0].ID, err)
		}
		if v, ok := f.Srv.Variable("project", f.Project.ID, key, "*"); !ok || v.Value != env[key] {
			f.t.Errorf("%s: CI/CD variable %s does not hold the live secret (found=%v)", name, key, ok)
		}
	}
	want := int64(0)
	if strategy == "overlap" {
		want = int64(f.n)
	}
	if got := f.creates.Load(); got != want {
		f.t.Errorf("POST …/access_tokens sent %d times for %d %s rotations, want %d (a token minted twice?)", got, f.n, strategy, want)
	}
}

// TestPipelinedRotations: apply rotates several tokens side by side
// (concurrency: 4), every one of them completely, each into its own key of
// one shared dotenv file without losing the others' keys, and reports the
// outcomes in the plan's order whatever order they finished in.
func TestPipelinedRotations(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy, func(t *testing.T) {
			f := newFleet(t, strategy, 8, 4)
			outs := f.Run(f.NewEngine(nil))
			if len(outs) != f.n {
				t.Fatalf("%d outcomes for %d due tokens", len(outs), f.n)
			}
			for i, o := range outs {
				if want := fmt.Sprintf("project/acme/app:deploy-%d", i); o.Rotation.Ref != want {
					t.Errorf("outcome %d is %s, want %s (the plan's order)", i, o.Rotation.Ref, want)
				}
			}
			f.RunToEnd()
			f.check(strategy)
			if got := f.maxInFlight.Load(); got < 2 || got > 4 {
				t.Errorf("at most %d rotations in flight, want 2 to 4 (concurrency: 4)", got)
			}
		})
	}
}

// TestConcurrencyOne: concurrency: 1 rotates one token after another.
func TestConcurrencyOne(t *testing.T) {
	f := newFleet(t, "rotate", 4, 1)
	f.Run(f.NewEngine(nil))
	f.RunToEnd()
	f.check("rotate")
	if got := f.maxInFlight.Load(); got != 1 {
		t.Errorf("%d rotations in flight with concurrency: 1", got)
	}
}

// TestCrashAtEveryStepPipelined crashes a run with three rotations in flight
// at every one of its fault points — the process dies there: every later
// step of every rotation fails too — then runs apply again as a new
// process until done. Every token ends rotated once, its old token
// revoked, every sink holding its live secret.
func TestCrashAtEveryStepPipelined(t *testing.T) {
	crashAtEveryStepPipelined(t, "sqlite", strategies)
}

// TestCrashAtEveryStepPipelinedPostgres is the same with a PostgreSQL
// journal, for overlap (the strategy with the most steps: it also revokes).
func TestCrashAtEveryStepPipelinedPostgres(t *testing.T) {
	crashAtEveryStepPipelined(t, "postgres", []string{"overlap"})
}

func crashAtEveryStepPipelined(t *testing.T, db string, strategies []string) {
	const n, concurrency = 3, 3
	newF := func(t *testing.T, strategy string) *fleet {
		f := newFleet(t, strategy, n, concurrency)
		if db == "postgres" {
			f.Cfg.State = pgtest.DSN(t)
		}
		return f
	}
	for _, strategy := range strategies {
		var points atomic.Int64
		{
			f := newF(t, strategy)
			count := func(*journal.Rotation, journal.Step, bool) error { points.Add(1); return nil }
			f.Run(f.NewEngine(count))
			f.Clock.Advance(2 * time.Second)
			f.Run(f.NewEngine(count))
		}
		if points.Load() < 10*n {
			t.Fatalf("%s: only %d fault points for %d rotations", strategy, points.Load(), n)
		}
		for k := int64(1); k <= points.Load(); k++ {
			t.Run(fmt.Sprintf("%s/point-%02d", strategy, k), func(t *testing.T) {
				f := newF(t, strategy)
				var (
					mu   sync.Mutex
					seen int64
					at   string
				)
				crash := func(r *journal.Rotation, step journal.Step, after bool) error {
					mu.Lock()
					defer mu.Unlock()
					seen++
					if seen == k {
						at = fmt.Sprintf("%s %s after=%v", r.Ref, step, after)
					}
					if seen >= k {
						return engine.ErrCrash // dead: nothing more is journaled
					}
					return nil
				}
				f.Run(f.NewEngine(crash))
				if at == "" {
					// The point lies in the second run (revoke after grace).
					f.Clock.Advance(2 * time.Second)
					f.Run(f.NewEngine(crash))
				}
				if at == "" {
					t.Fatalf("fault point %d not reached", k)
				}
				t.Logf("crashed at %s", at)
				f.RunToEnd()
				f.check(strategy)
			})
		}
	}
}

// place is one destination holding several keys that its sinks rewrite
// whole (read, change one key, write), as a file or a Kubernetes Secret
// does, without a lock of its own; it records whether two Puts ever ran
// into it at once.
type place struct {
	mu      sync.Mutex
	vals    map[string]string
	inside  int
	overlap bool
}

type placeSink struct {
	p   *place
	key string
}

func (s placeSink) ID() string       { return "place:shared#" + s.key }
func (s placeSink) Describe() string { return "place key " + s.key }

func (s placeSink) Put(_ context.Context, sec secret.Credential) (bool, error) {
	s.p.mu.Lock()
	s.p.inside++
	s.p.overlap = s.p.overlap || s.p.inside > 1
	read := map[string]string{}
	for k, v := range s.p.vals {
		read[k] = v
	}
	s.p.mu.Unlock()
	// Give another rotation the chance to read the same old whole: wait
	// (a little at most) for it to come in.
	for deadline := time.Now().Add(20 * time.Millisecond); time.Now().Before(deadline); {
		s.p.mu.Lock()
		in := s.p.inside
		s.p.mu.Unlock()
		if in > 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	read[s.key] = sec.Token.Reveal()
	s.p.mu.Lock()
	s.p.vals = read
	s.p.inside--
	s.p.mu.Unlock()
	return true, nil
}

func (s placeSink) Get(context.Context) (secret.Credential, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	v, ok := s.p.vals[s.key]
	if !ok {
		return secret.Credential{}, sink.ErrNotFound
	}
	return secret.TokenOnly(secret.New(v)), nil
}

// TestOneDestinationAtATime: rotations side by side deliver into one place
// that holds several keys (the ID before "#") one after another, so that
// none loses another's key, whether or not the sink locks by itself.
func TestOneDestinationAtATime(t *testing.T) {
	f := newFleet(t, "rotate", 8, 4)
	p := &place{vals: map[string]string{}}
	f.Reopen()
	managing := f.Client(secret.New(rootToken))
	e := engine.New(engine.Deps{
		GitLab: managing, Store: f.Store, Clock: f.Clock, Concurrency: 4,
		ClientFor: func(s secret.Secret) (*gitlab.Client, error) { return f.Client(s), nil },
		Sinks: func(tok config.Token) ([]sink.Sink, error) {
			return []sink.Sink{placeSink{p, tok.Name}}, nil
		},
	})
	for _, o := range f.Run(e) {
		if o.Status != engine.StatusDone {
			t.Errorf("%s: %s (%v)", o.Rotation.Ref, o.Status, o.Err)
		}
	}
	if p.overlap {
		t.Error("two rotations wrote into one destination at once")
	}
	if len(p.vals) != f.n {
		t.Errorf("the shared place holds %d keys after %d rotations: writes were lost", len(p.vals), f.n)
	}
}
