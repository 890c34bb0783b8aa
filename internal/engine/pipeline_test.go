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
	f.Sinks = func(tok config.Token) ([]sink.Sink, error) {
		return []sink.Sink{placeSink{p, tok.Name}}, nil
	}
	for _, o := range f.Run(f.NewEngine(nil)) {
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

// Plan lists each resource's access tokens once (and resolves it once),
// whatever the number of managed tokens on it: 3 projects × 5 managed
// tokens make 3 token lists, not 15.
func TestPlanListsEachResourceOnce(t *testing.T) {
	var mu sync.Mutex
	lists := map[string]int{}
	w := simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodGet, `^/api/v4/(groups|projects)/[^/]+/access_tokens$`, func(path string) {
			mu.Lock()
			lists[path]++
			mu.Unlock()
		})})
	exp := start.AddDate(0, 0, 60)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "gitlab: {url: %s, token_file: root.token}\nstate: sqlite://tw.db\nkey_file: tw.key\ndefaults: {lifetime: 90d}\ntokens:\n", w.URL)
	for p := range 3 {
		proj, err := w.Srv.CreateProject(fmt.Sprintf("svc-%d", p), w.Group.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			name := fmt.Sprintf("deploy-%d", i)
			if _, _, err := w.Srv.CreateAccessToken("project", proj.ID, sim.TokenSpec{Name: name, Scopes: []string{"read_api"},
				AccessLevel: 20, CreatedAt: start.AddDate(0, 0, -10), ExpiresAt: &exp}); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&cfg, "  - {name: %s, description: d, project: acme/svc-%d, scopes: [read_api], access_level: reporter,\n     deliver: [{file: {path: %s-%d.env, format: dotenv, key: T}}]}\n", name, p, name, p)
		}
	}
	w.Write("root.token", rootToken+"\n")
	w.Write("tw.yaml", cfg.String())
	w.Load("tw.yaml")
	c, e := w.Cfg, w.NewEngine(nil)

	p, err := e.Plan(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Items {
		if it.Err != nil || it.Current == nil || it.Current.Name != it.Token.Name || it.Current.Resource.Path != it.Token.Project {
			t.Errorf("%s: current %+v, err %v", it.Ref, it.Current, it.Err)
		}
		if it.Action == engine.ActionCreate {
			t.Errorf("%s: plan creates a token that exists", it.Ref)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lists) != 3 {
		t.Errorf("token lists of %d resources, want 3: %v", len(lists), lists)
	}
	for path, n := range lists {
		if n != 1 {
			t.Errorf("%s listed %d times, want once", path, n)
		}
	}
}

// Replan decides again only the tokens that are due or whose journal moved
// since the plan it follows; the others keep their items, and nothing of
// GitLab or their sinks is read for them. A sink edited by hand shows at the
// next full Plan (serve makes one each scan interval).
func TestReplanDecidesOnlyWhatIsDueOrWritten(t *testing.T) {
	var lists atomic.Int64
	w := simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodGet, `^/api/v4/(groups|projects)/[^/]+/access_tokens$`, func(string) { lists.Add(1) })})
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "gitlab: {url: %s, token_file: root.token}\nstate: sqlite://tw.db\nkey_file: tw.key\ndefaults: {lifetime: 30d, rotate_before: 10d, strategy: rotate}\ntokens:\n", w.URL)
	for i, name := range []string{"a", "b", "c"} {
		if i == 2 {
			// c lives longer: due 10 days after a and b.
			fmt.Fprintf(&cfg, "  - {name: %s, project: acme/app, scopes: [read_api], access_level: reporter, lifetime: 40d,\n     deliver: [{file: {path: %s.env, format: dotenv, key: T}}]}\n", name, name)
			continue
		}
		fmt.Fprintf(&cfg, "  - {name: %s, project: acme/app, scopes: [read_api], access_level: reporter,\n     deliver: [{file: {path: %s.env, format: dotenv, key: T}}]}\n", name, name)
	}
	w.Write("root.token", rootToken+"\n")
	w.Write("tw.yaml", cfg.String())
	w.Load("tw.yaml")
	c, e := w.Cfg, w.NewEngine(nil)
	ctx := context.Background()

	p, err := e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, c, p); err != nil {
		t.Fatal(err)
	}
	actions := func(p *engine.Plan) string {
		var out []string
		for _, it := range p.Items {
			cur := int64(0)
			if it.Current != nil {
				cur = it.Current.ID
			}
			out = append(out, fmt.Sprintf("%s:%s@%d", it.Token.Name, it.Action, cur))
			if it.RenewAt != nil {
				out[len(out)-1] += "/" + it.RenewAt.Format(time.DateTime)
			}
		}
		return strings.Join(out, " ")
	}
	full, err := e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range full.Items {
		if it.Action != engine.ActionNone {
			t.Fatalf("after apply: %s", actions(full))
		}
	}

	// Nothing due, nothing written: nothing is read again.
	lists.Store(0)
	again, err := e.Replan(ctx, c, full)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(again), actions(full); got != want || lists.Load() != 0 {
		t.Errorf("replan with nothing due: %s after %s, %d token lists (want the same, no list)", got, want, lists.Load())
	}

	// b is rotated by hand and a's sink is edited: only b is decided again.
	w.Write("a.env", "T=edited-by-hand\n")
	if _, err := e.RotateNow(ctx, c, full.Items[1].Ref, engine.RotateOptions{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	lists.Store(0)
	again, err = e.Replan(ctx, c, again)
	if err != nil {
		t.Fatal(err)
	}
	if again.Items[0].Action != engine.ActionNone || again.Items[1].Current.ID == full.Items[1].Current.ID || lists.Load() != 1 {
		t.Errorf("after rotating b: %s after %s, %d token lists (want b's new token, a kept, one list)", actions(again), actions(full), lists.Load())
	}

	// The full plan sees a's sink.
	full, err = e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if full.Items[0].Action != engine.ActionDeliver {
		t.Errorf("full plan after a's sink was edited: %s, want a to deliver", actions(full))
	}

	// 21 days on, a and b are due, c is not.
	if _, err := e.Apply(ctx, c, full); err != nil {
		t.Fatal(err)
	}
	full, err = e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(21 * 24 * time.Hour)
	again, err = e.Replan(ctx, c, full)
	if err != nil {
		t.Fatal(err)
	}
	if again.Items[0].Action != engine.ActionRotate || again.Items[2].Action != engine.ActionNone {
		t.Errorf("21 days on: %s, want a and b due, c not", actions(again))
	}
}
