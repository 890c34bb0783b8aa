package soak

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var (
	seeds  = flag.Int("soak.seeds", 0, "run this many seeds (1, 2, …) of the full scenario; 0: two short seeds")
	seed   = flag.Uint64("soak.seed", 0, "replay this one seed of the full scenario")
	tokens = flag.Int("soak.tokens", 0, "managed tokens (default 200)")
	days   = flag.Int("soak.days", 0, "simulated days (default 365)")
	trace  = flag.Bool("soak.trace", false, "print every scenario event")
)

// The short scenario of make test: a few seconds per seed.
const (
	ShortTokens = 6
	ShortDays   = 14
)

// TestSoak runs the scenario: two short seeds by default (make test), N
// full seeds with -soak.seeds N (make soak), one with -soak.seed S.
func TestSoak(t *testing.T) {
	var list []uint64
	o := Options{Tokens: *tokens, Days: *days}
	switch {
	case *seed != 0:
		list = []uint64{*seed}
	case *seeds > 0:
		for i := range *seeds {
			list = append(list, uint64(i+1))
		}
	default:
		list = []uint64{1, 2}
		if o.Tokens == 0 {
			o.Tokens = ShortTokens
		}
		if o.Days == 0 {
			o.Days = ShortDays
		}
	}
	failed := 0
	for _, s := range list {
		o := o
		o.Seed = s
		if o.Tokens == 0 {
			o.Tokens = 200
		}
		if o.Days == 0 {
			o.Days = 365
		}
		o.Dir = t.TempDir()
		if *trace {
			o.Log = os.Stdout
		}
		res, err := Run(o)
		t.Log(res)
		for why, n := range res.FailedWhy {
			t.Logf("  failed ×%d: %s", n, why)
		}
		if err != nil {
			failed++
			t.Errorf("%v\nreplay: make soak SEED=%d TOKENS=%d DAYS=%d", err, s, o.Tokens, o.Days)
		}
	}
	if failed > 0 {
		t.Logf("%d of %d seeds failed", failed, len(list))
	}
}

// A seed replays exactly: the same events, crashes, requests, rotations
// and faults, although due tokens rotate side by side (the engine's default
// concurrency) and the daemon lists concurrently: faults and crashes are
// decided per request and per step, not by the order they come in.
func TestSoakReplays(t *testing.T) {
	run := func() (Result, string) {
		var trace bytes.Buffer
		dir := t.TempDir()
		res, err := Run(Options{Seed: 3, Tokens: 8, Days: 10, Dir: dir, Log: &trace})
		if err != nil {
			t.Fatal(err)
		}
		res.Wall = 0
		return res, strings.ReplaceAll(trace.String(), dir, "DIR")
	}
	a, traceA := run()
	b, traceB := run()
	if a.String() != b.String() || traceA != traceB {
		t.Errorf("seed 3 ran differently twice:\n%s\n%s\n--- trace 1:\n%s--- trace 2:\n%s", a, b, traceA, traceB)
	}
	if a.Calls == 0 || a.Rotations == 0 || a.Crashes == 0 {
		t.Errorf("seed 3 did too little to tell: %s", a)
	}
}
