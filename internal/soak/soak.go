// Package soak is a deterministic simulation of `tokenwarden serve`: the
// daemon, its engine and the GitLab emulator run in one process on one
// virtual clock (clock.Virtual) for a simulated year, through seeded
// faults, outages, crashes, config reloads and failing sinks, and the
// invariants users rely on are checked after every event. A seed replays
// the same run exactly.
//
// The daemon is stepped (daemon.Steps) instead of run: time jumps to its
// next wake-up or to the next scenario event, whichever comes first, so a
// year takes minutes. The engine rotates due tokens side by side, at
// serve's default concurrency. The clients reach the emulator through an
// in-process transport; each fault is decided from the seed and the request
// (and how often that token's same request was made), each crash from the
// seed, the token and its step: not from the order in which the rotations
// running side by side happen to send them.
package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/all"
)

// Options shape one run.
type Options struct {
	Seed   uint64
	Tokens int // managed at the start (more are added by reloads); 0: 200
	Days   int // simulated days; 0: 365
	Dir    string
	// Log, when set, receives one line per scenario event.
	Log io.Writer
}

// Result is what a run did.
type Result struct {
	Seed      uint64
	Days      float64 // simulated
	Events    int
	Rotations int // finished (journal rows done), creations and deliveries included
	Failed    int // rotations that ended failed
	Faults    int // fault episodes, outages and sink failures
	Crashes   int
	Reloads   int
	Calls     int // requests that reached the emulator
	MaxWrites int // GitLab write calls the costliest rotation had carried out
	// MaxTurnedAway is the most write calls of one rotation that never
	// reached GitLab (429, 500, reset, refused): one or a few per attempt.
	MaxTurnedAway int
	// FailedWhy counts the failed rotations by their error's start.
	FailedWhy  map[string]int
	Wall       time.Duration
	Violations []string
}

func (r Result) String() string {
	return fmt.Sprintf("seed %d: %.0f simulated days, %d events, %d rotations (%d failed), %d faults, %d crashes, %d reloads, %d GitLab calls, ≤%d writes/rotation (≤%d turned away), wall %s",
		r.Seed, r.Days, r.Events, r.Rotations, r.Failed, r.Faults, r.Crashes, r.Reloads, r.Calls, r.MaxWrites, r.MaxTurnedAway, r.Wall.Round(time.Millisecond))
}

// MaxWritesPerRotation bounds the GitLab write calls one rotation has
// GitLab carry out (create or rotate, revoke, variable writes; a retry
// after a dropped answer counts).
const MaxWritesPerRotation = 24

// MaxTurnedAwayPerAttempt bounds the write calls of one attempt of a
// rotation that never reach GitLab (throttled, failed, reset, refused). A
// rotation that is never given up — one whose old token GitLab may already
// have revoked, or that is past minting — tries again every few minutes
// through a long 429 storm, one write per attempt: how many it sends in all
// grows with the storm, what each attempt sends must not.
const MaxTurnedAwayPerAttempt = 8

// rootToken is the emulator's administrator secret: the managing token.
const rootToken = "root-managing-secret-0123456789"

// secretRE matches any secret the emulator hands out.
var secretRE = regexp.MustCompile(`glpat-[A-Za-z0-9_-]{20}`)

// harness is one run.
type harness struct {
	o     Options
	rng   *rand.Rand
	clk   *clock.Virtual
	srv   *sim.Server
	tr    *transport
	dir   string
	cfgAt string

	sealer secret.Sealer
	logs   *leakWriter
	notes  *noteRecorder

	tokens  []*tokenSpec // configured now
	retired []*tokenSpec // removed by reloads
	nextID  int

	// the process
	d      *daemon.Daemon
	steps  *daemon.Steps
	store  journal.Store
	cancel context.CancelFunc
	ctx    context.Context
	// mu guards what the engine's fault hook touches: the rotations of
	// different tokens call it side by side.
	mu sync.Mutex
	// crash: armed by a crash event (crashes counts them), the process
	// dies at a step hook on a coin of odds 1/crashOdds drawn from the
	// seed, the event, the token and how many steps its rotations have
	// made since the event: the same steps whatever order the
	// rotations running side by side take them in.
	crashOdds int
	crashes   int
	stepsOf   map[string]int // ref → hook calls since the crash was armed
	crashed   bool

	// writes per rotation id, attributed at the engine's step hooks from
	// the writes that concern its token
	writesSeen map[string]int // token name → writes attributed so far
	writesBy   map[string]int
	writesFrom map[string]int // rotation id → its token's writes before it

	// lastFault is when the last fault, outage, failing sink or crash
	// ended: a day after it every sink must hold the live secret.
	lastFault time.Time
	inFault   int // faults in progress
	failing   []*sinkSpec

	res   Result
	event int // index of the event being handled
}

// Run runs one seed and returns what it did. A broken invariant is an
// error naming the seed and the event index; the result is filled in so
// far.
func Run(o Options) (Result, error) {
	if o.Tokens == 0 {
		o.Tokens = 200
	}
	if o.Days == 0 {
		o.Days = 365
	}
	began := time.Now()
	h := &harness{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x50a4)), clk: clock.NewVirtual(Start), dir: o.Dir,
		writesBy: map[string]int{}, writesSeen: map[string]int{}, writesFrom: map[string]int{}, res: Result{Seed: o.Seed}}
	err := h.run()
	h.res.Wall = time.Since(began)
	h.res.Days = h.clk.Now().Sub(Start).Hours() / 24
	if h.store != nil {
		h.stop()
	}
	if err != nil {
		return h.res, fmt.Errorf("seed %d, event %d (%s): %w", o.Seed, h.event, h.clk.Now().UTC().Format(time.RFC3339), err)
	}
	return h.res, nil
}

func (h *harness) logf(format string, args ...any) {
	if h.o.Log != nil {
		fmt.Fprintf(h.o.Log, "%s #%d %s\n", h.clk.Now().UTC().Format(time.RFC3339), h.event, fmt.Sprintf(format, args...))
	}
}

func (h *harness) run() error {
	if err := h.setUp(); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	evs := schedule(h.rng, h.o.Days)
	end := Start.Add(time.Duration(h.o.Days) * 24 * time.Hour)
	if err := h.boot(); err != nil {
		return err
	}
	next := h.steps.Next(h.ctx)
	spins := 0
	for i := 0; ; {
		if h.crashed {
			h.logf("crashed mid-step; restarting")
			h.stop()
			if err := h.boot(); err != nil {
				return err
			}
			next = h.steps.Next(h.ctx)
			if err := h.check(); err != nil {
				return err
			}
			continue
		}
		now := h.clk.Now()
		if !next.After(now) {
			if spins++; spins > 1000 {
				return fmt.Errorf("the daemon keeps waking up at %s without sleeping", now.UTC().Format(time.RFC3339))
			}
		} else {
			spins = 0
		}
		h.event = i
		// Only what wakes the daemon up (its timer, a reload, a new
		// process) makes it run: a fault or an outage just lies in wait.
		woken := true
		switch {
		case i < len(evs) && !evs[i].at.After(next):
			h.clk.Set(evs[i].at)
			var err error
			if woken, err = h.apply(evs[i]); err != nil {
				return err
			}
			h.res.Events++
			i++
		case next.After(end):
			h.clk.Set(end)
			return h.final()
		default:
			h.clk.Set(next)
			h.steps.Wake(h.ctx)
		}
		if woken && !h.crashed {
			next = h.steps.Next(h.ctx)
		}
		if h.crashed {
			h.res.Crashes++
			h.disturbed()
		}
		if err := h.check(); err != nil {
			return err
		}
	}
}

// setUp builds the emulator, the groups and projects, the adopted tokens
// and their sinks, the config and the journal's key.
func (h *harness) setUp() error {
	var err error
	h.srv, err = sim.New(sim.Options{Clock: h.clk, RootToken: rootToken, Seed: int64(h.o.Seed%(1<<62)) + 1})
	if err != nil {
		return err
	}
	h.tr = &transport{h: h.srv, srv: h.srv, seed: h.o.Seed}
	for g := range nGroups {
		grp, err := h.srv.CreateGroup(fmt.Sprintf("g%d", g), 0)
		if err != nil {
			return err
		}
		for p := range nProjects {
			if _, err := h.srv.CreateProject(fmt.Sprintf("p%d", p), grp.ID); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(h.dir, "sinks"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.dir, "root.token"), []byte(rootToken+"\n"), 0o600); err != nil {
		return err
	}
	if h.sealer, err = secret.LoadOrCreateKey(filepath.Join(h.dir, "tw.key")); err != nil {
		return err
	}
	h.logs = &leakWriter{}
	h.notes = &noteRecorder{}
	h.cfgAt = filepath.Join(h.dir, "tokenwarden.yaml")
	for range h.o.Tokens {
		t := newToken(h.rng, h.dir, h.nextID)
		h.nextID++
		if err := h.adopt(t); err != nil {
			return err
		}
		h.tokens = append(h.tokens, t)
	}
	return h.writeConfig()
}

// adopt makes an adopted token in GitLab and puts its secret into its
// sinks, as its consumers had it before tokenwarden managed it.
func (h *harness) adopt(t *tokenSpec) error {
	if !t.adopted {
		return nil
	}
	res, err := h.resourceID(t)
	if err != nil {
		return err
	}
	now := h.clk.Now()
	created := now.Add(-time.Duration(t.ageDays) * day)
	exp := created.Add(time.Duration(t.lifetime) * day)
	if !exp.After(now.Add(day)) {
		exp = now.Add(2 * day)
	}
	scopes := []string{"read_api"}
	if t.strategy == "self" {
		scopes = []string{"api"}
	}
	tok, sec, err := h.srv.CreateAccessToken(t.kind(), res, sim.TokenSpec{
		Name: t.name, Description: "made by hand", Scopes: scopes, AccessLevel: 20, CreatedAt: created, ExpiresAt: &exp,
	})
	if err != nil {
		return err
	}
	t.adoptedID = tok.ID
	return h.put(t, t.sinks, secret.New(sec))
}

// put delivers s to sinks of t the way tokenwarden's sinks would: the
// consumers' own copies, outside the scenario's faults and counts.
func (h *harness) put(t *tokenSpec, sinks []*sinkSpec, s secret.Secret) error {
	c, err := gitlab.New(gitlab.Config{URL: "http://gitlab.sim", Token: secret.New(rootToken), HTTPClient: &http.Client{Transport: &transport{h: h.srv}}})
	if err != nil {
		return err
	}
	for _, sp := range sinks {
		cs, err := h.sinkOf(t, sp, c)
		if err != nil {
			return err
		}
		if _, err := cs.Put(context.Background(), secret.TokenOnly(s)); err != nil {
			return fmt.Errorf("seed sink %s: %w", cs.Describe(), err)
		}
	}
	return nil
}

// sinkOf builds the sink sp of t as the config would.
func (h *harness) sinkOf(t *tokenSpec, sp *sinkSpec, c *gitlab.Client) (sink.Sink, error) {
	cfg, err := config.Parse(h.cfgAt, []byte(h.configText([]*tokenSpec{{name: t.name, group: t.group, project: t.project, strategy: "overlap", lifetime: t.lifetime, sinks: []*sinkSpec{sp}}})))
	if err != nil {
		return nil, err
	}
	return all.New(cfg.Tokens[0].Deliver[0], all.Deps{GitLab: c, Owner: t.ref()})
}

func (h *harness) resourceID(t *tokenSpec) (int64, error) {
	if t.group != "" {
		g, ok := h.srv.GroupByPath(t.group)
		if !ok {
			return 0, fmt.Errorf("no group %s", t.group)
		}
		return g.ID, nil
	}
	p, ok := h.srv.ProjectByPath(t.project)
	if !ok {
		return 0, fmt.Errorf("no project %s", t.project)
	}
	return p.ID, nil
}

func (h *harness) client(s secret.Secret) (*gitlab.Client, error) {
	return gitlab.New(gitlab.Config{
		URL: "http://gitlab.sim", Token: s, HTTPClient: &http.Client{Transport: h.tr},
		Clock: h.clk, RetryMax: 2, ThrottleRounds: 2,
	})
}

func (h *harness) configText(toks []*tokenSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gitlab: {url: http://gitlab.sim, token_file: %s}\n", filepath.Join(h.dir, "root.token"))
	fmt.Fprintf(&b, "state: sqlite://%s\nkey_file: %s\n", filepath.Join(h.dir, "tw.db"), filepath.Join(h.dir, "tw.key"))
	// 7-day tokens are in scope: the expiry notices must come later.
	b.WriteString("policy: {expires_warning: 3d, expires_critical: 1d}\nserve: {scan_interval: 24h}\ntokens:\n")
	for _, t := range toks {
		fmt.Fprintf(&b, "  - name: %s\n", t.name)
		if t.group != "" {
			fmt.Fprintf(&b, "    group: %s\n", t.group)
		} else {
			fmt.Fprintf(&b, "    project: %s\n", t.project)
		}
		scopes := "read_api"
		if t.strategy == "self" {
			scopes = "api"
		}
		fmt.Fprintf(&b, "    scopes: [%s]\n    access_level: reporter\n    lifetime: %dd\n    strategy: %s\n", scopes, t.lifetime, t.strategy)
		if t.strategy == "overlap" {
			fmt.Fprintf(&b, "    grace: %s\n", t.grace)
		}
		if t.adoptWait {
			b.WriteString("    adopt: wait\n")
		}
		if t.tokenFile != "" {
			fmt.Fprintf(&b, "    token_file: %s\n", t.tokenFile)
		}
		if len(t.sinks) > 0 {
			b.WriteString("    deliver:\n")
			for _, s := range t.sinks {
				fmt.Fprintf(&b, "      - %s\n", s.yaml(t))
			}
		}
	}
	return b.String()
}

func (h *harness) writeConfig() error {
	tmp := h.cfgAt + ".tmp"
	if err := os.WriteFile(tmp, []byte(h.configText(h.tokens)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, h.cfgAt)
}

// boot starts a process: config read, journal opened afresh, engine and
// daemon built, unfinished rotations resumed, first scan.
func (h *harness) boot() error {
	cfg, err := config.Load(h.cfgAt)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	st, err := journal.Open(context.Background(), cfg.State, h.sealer, h.clk)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	managing, err := h.client(secret.New(rootToken))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := engine.New(engine.Deps{
		GitLab: managing, ClientFor: h.client, Store: st, Clock: h.clk, Log: log, Fault: h.hook,
		Sinks: func(tok config.Token) ([]sink.Sink, error) {
			return all.NewAll(tok.Deliver, all.Deps{GitLab: managing, Owner: tok.Ref()})
		},
		// The default concurrency: rotations of different tokens run side
		// by side, as in serve.
	})
	h.d = daemon.New(daemon.Deps{
		Engine: eng, Store: st, GitLab: managing, Clock: h.clk, Log: log, Config: cfg,
		LoadConfig: func() (*config.Config, error) { return config.Load(h.cfgAt) },
		Notifier:   h.notes, ScanConcurrency: 1,
	})
	h.store = st
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.crashed = false
	h.steps = h.d.Steps()
	h.steps.Start(h.ctx)
	return nil
}

// stop drops the process: whatever it held in memory is gone.
func (h *harness) stop() {
	h.cancel()
	h.store.Close()
	h.d, h.steps, h.store = nil, nil, nil
}

// hook is the engine's fault hook, called by rotations side by side: it
// attributes GitLab writes to the rotation at hand, and crashes the process
// when a crash is armed and its coin falls. Once crashed, every rotation
// stops at its next step.
func (h *harness) hook(r *journal.Rotation, step journal.Step, after bool) error {
	w := h.tr.writesFor(r.TokenName)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.writesFrom[r.ID]; !ok {
		h.writesFrom[r.ID] = h.writesSeen[r.TokenName]
	}
	h.writesBy[r.ID] += w - h.writesSeen[r.TokenName]
	h.writesSeen[r.TokenName] = w
	if h.crashed {
		return engine.ErrCrash
	}
	if h.crashOdds > 0 {
		h.stepsOf[r.Ref]++
		key := fmt.Sprintf("crash %s %s %v", r.Ref, step, after)
		if h.tr.coin(uint64(h.crashes)<<32|uint64(h.stepsOf[r.Ref]), key)*float64(h.crashOdds) < 1 {
			h.logf("crash at %s (after=%v) of %s", step, after, r.Ref)
			h.crashOdds = 0
			h.crashed = true
			h.cancel()
			return engine.ErrCrash
		}
	}
	return nil
}

func (h *harness) disturbed() {
	h.lastFault = h.clk.Now()
}

// apply carries out one scenario event and reports whether it woke the
// daemon up.
func (h *harness) apply(e event) (bool, error) {
	err := h.do(e)
	switch e.kind {
	case evReload, evCrashIdle:
		return true, err
	}
	return false, err
}

func (h *harness) do(e event) error {
	switch e.kind {
	case evCheck:
	case evFaults:
		h.logf("%s: %s", eventNames[e.kind], e.fault)
	default:
		h.logf("%s", eventNames[e.kind])
	}
	switch e.kind {
	case evCheck:
	case evFaults:
		h.res.Faults++
		h.inFault++
		h.disturbed()
		f := e.fault
		h.tr.setFault(&f)
	case evFaultsEnd:
		h.tr.setFault(nil)
		h.inFault--
		h.disturbed()
	case evOutage:
		h.res.Faults++
		h.inFault++
		h.tr.setDown(true)
		h.disturbed()
	case evOutageEnd:
		h.tr.setDown(false)
		h.inFault--
		h.disturbed()
	case evCrash:
		h.mu.Lock()
		h.crashes++
		h.crashOdds, h.stepsOf = e.n, map[string]int{}
		h.mu.Unlock()
	case evCrashIdle:
		h.res.Crashes++
		h.disturbed()
		h.stop()
		return h.boot()
	case evReload:
		h.res.Reloads++
		return h.reload()
	case evSinkFail:
		var execs []*sinkSpec
		for _, t := range h.tokens {
			for _, s := range t.sinks {
				if s.kind == "exec" {
					execs = append(execs, s)
				}
			}
		}
		if len(execs) == 0 {
			return nil
		}
		s := execs[h.rng.IntN(len(execs))]
		h.res.Faults++
		h.inFault++
		h.failing = append(h.failing, s)
		h.disturbed()
		h.logf("sink %s fails", s.path)
		return os.WriteFile(s.flag, nil, 0o600)
	case evSinkFailEnd:
		for _, s := range h.failing {
			if err := os.Remove(s.flag); err != nil {
				return err
			}
			h.inFault--
		}
		h.failing = nil
		h.disturbed()
	}
	return nil
}

// reload changes the config: tokens added (adopted or new) and removed,
// sinks added and removed; then the daemon reloads it.
func (h *harness) reload() error {
	var what []string
	for range h.rng.IntN(3) {
		t := newToken(h.rng, h.dir, h.nextID)
		h.nextID++
		if err := h.adopt(t); err != nil {
			return err
		}
		h.tokens = append(h.tokens, t)
		what = append(what, "add "+t.name)
	}
	if len(h.tokens) > 1 && h.rng.IntN(2) == 0 {
		i := h.rng.IntN(len(h.tokens))
		t := h.tokens[i]
		if !slices.ContainsFunc(h.failing, func(s *sinkSpec) bool { return slices.Contains(t.sinks, s) }) {
			h.tokens = slices.Delete(h.tokens, i, i+1)
			h.retired = append(h.retired, t)
			what = append(what, "remove "+t.name)
		}
	}
	if len(h.tokens) > 0 {
		t := h.tokens[h.rng.IntN(len(h.tokens))]
		s := newSink(h.rng, h.dir, t, 10+len(t.sinks)+h.rng.IntN(1000))
		t.sinks = append(t.sinks, s)
		what = append(what, fmt.Sprintf("add sink %s to %s", s.kind, t.name))
	}
	if len(h.tokens) > 0 {
		t := h.tokens[h.rng.IntN(len(h.tokens))]
		if len(t.sinks) > 1 {
			j := h.rng.IntN(len(t.sinks))
			s := t.sinks[j]
			if s.path != t.tokenFile && !slices.Contains(h.failing, s) {
				t.sinks = slices.Delete(t.sinks, j, j+1)
				what = append(what, fmt.Sprintf("remove sink %s of %s", s.kind, t.name))
			}
		}
	}
	h.logf("reload: %s", strings.Join(what, ", "))
	if err := h.writeConfig(); err != nil {
		return err
	}
	return h.d.Reload()
}

// final checks the end state: the last invariants, the journal file, and
// the writes per rotation.
func (h *harness) final() error {
	h.event = -1
	if err := h.check(); err != nil {
		return err
	}
	rows, err := h.store.List(context.Background(), journal.Filter{})
	if err != nil {
		return err
	}
	attempts := map[string]int{}
	for _, r := range rows {
		attempts[r.ID] = r.Attempts
		switch r.Step {
		case journal.StepDone:
			h.res.Rotations++
		case journal.StepFailed:
			h.res.Failed++
			if h.res.FailedWhy == nil {
				h.res.FailedWhy = map[string]int{}
			}
			why := secretRE.ReplaceAllString(r.Error, "[SECRET]")
			if len(why) > 90 {
				why = why[:90]
			}
			h.res.FailedWhy[why]++
		}
	}
	calls, _ := h.tr.counts()
	h.res.Calls = calls
	for id := range h.writesBy {
		done, away := 0, 0
		for _, w := range h.writesOf(id) {
			if w.done() {
				done++
			} else {
				away++
			}
		}
		h.res.MaxWrites, h.res.MaxTurnedAway = max(h.res.MaxWrites, done), max(h.res.MaxTurnedAway, away)
		if done > MaxWritesPerRotation {
			return fmt.Errorf("rotation %s had GitLab carry out %d write calls (at most %d allowed)%s", id, done, MaxWritesPerRotation, h.story(id))
		}
		// Attempts counts the failed ones; the last ran too.
		if limit := MaxTurnedAwayPerAttempt * (attempts[id] + 1); away > limit {
			return fmt.Errorf("rotation %s sent %d write calls that never reached GitLab in %d attempt(s) (at most %d allowed)%s", id, away, attempts[id]+1, limit, h.story(id))
		}
	}
	return h.journalLeaks()
}

// writesOf are the write calls attributed to rotation id.
func (h *harness) writesOf(id string) []writeCall {
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return h.tr.writesOfLog(r.TokenName, h.writesFrom[id], h.writesBy[id])
}

// story is rotation id's journal, to say why it took what it took: its
// ref, strategy and attempts, then each event.
func (h *harness) story(id string) string {
	ctx := context.Background()
	r, err := h.store.Get(ctx, id)
	if err != nil {
		return fmt.Sprintf(" (journal: %v)", err)
	}
	events, err := h.store.Events(ctx, id)
	if err != nil {
		return fmt.Sprintf(" (journal: %v)", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, ": %s %s (%s), step %s after %d failed attempt(s)", r.Kind, r.Ref, r.Strategy, r.Step, r.Attempts)
	for _, e := range events {
		fmt.Fprintf(&b, "\n      %s %s: %s", e.At.UTC().Format(time.RFC3339), e.Step, secretRE.ReplaceAllString(e.Detail, "[SECRET]"))
	}
	b.WriteString("\n    its writes:")
	for _, w := range h.writesOf(id) {
		b.WriteString("\n      " + w.String())
	}
	return b.String()
}

// journalLeaks looks for any secret in plain text in the journal's files.
func (h *harness) journalLeaks() error {
	matches, _ := filepath.Glob(filepath.Join(h.dir, "tw.db*"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		if loc := secretRE.FindIndex(b); loc != nil {
			return fmt.Errorf("a secret in plain text in the journal file %s at byte %d", filepath.Base(m), loc[0])
		}
	}
	return nil
}

// leakWriter is the log's output: it remembers the first line holding a
// secret.
type leakWriter struct {
	mu    sync.Mutex
	lines int
	leak  string
}

func (w *leakWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines += bytes.Count(p, []byte("\n"))
	if w.leak == "" && secretRE.Match(p) {
		w.leak = string(p)
	}
	return len(p), nil
}

// noteRecorder is the daemon's notifier: it remembers the first
// notification holding a secret.
type noteRecorder struct {
	mu    sync.Mutex
	n     int
	kinds map[notify.Kind]int
	leak  string
}

func (r *noteRecorder) Notify(_ context.Context, e notify.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.kinds == nil {
		r.kinds = map[notify.Kind]int{}
	}
	r.kinds[e.Kind]++
	if s := fmt.Sprintf("%+v", e); r.leak == "" && secretRE.MatchString(s) {
		r.leak = s
	}
	return nil
}

var errInvariant = errors.New("invariant broken")
