package soak

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Start is where every scenario's clock begins: 2027, so that the leap day
// 2028-02-29 falls inside a simulated year, and a few seconds before
// midnight UTC, so that a day boundary comes first.
var Start = time.Date(2027, 3, 14, 23, 59, 50, 0, time.UTC)

const day = 24 * time.Hour

var strategies = []string{"overlap", "rotate", "self"}

// tokenSpec is one managed token of the scenario.
type tokenSpec struct {
	name     string
	group    string // exactly one of group, project
	project  string
	strategy string
	lifetime int // days
	grace    time.Duration
	// adopted: a token made by hand before tokenwarden manages it (its
	// sinks already hold its secret); otherwise tokenwarden creates it.
	adopted   bool
	adoptWait bool
	ageDays   int // adopted: days since it was made
	adoptedID int64
	sinks     []*sinkSpec
	tokenFile string // strategy self
}

func (t *tokenSpec) kind() string {
	if t.group != "" {
		return "group"
	}
	return "project"
}

func (t *tokenSpec) path() string {
	if t.group != "" {
		return t.group
	}
	return t.project
}

func (t *tokenSpec) ref() string { return t.kind() + "/" + t.path() + ":" + t.name }

// sinkSpec is one deliver: entry.
type sinkSpec struct {
	kind   string // file, gitlab_variable, exec
	path   string // file: the file; exec: the file the hook writes
	format string // file: dotenv, json, raw
	key    string // file (dotenv, json) or the variable's key
	flag   string // exec: the hook fails while this file exists
}

func (s *sinkSpec) yaml(t *tokenSpec) string {
	switch s.kind {
	case "file":
		if s.format == "raw" {
			return fmt.Sprintf("file: {path: %s, format: raw}", s.path)
		}
		return fmt.Sprintf("file: {path: %s, format: %s, key: %s}", s.path, s.format, s.key)
	case "gitlab_variable":
		return fmt.Sprintf("gitlab_variable: {%s: %s, key: %s}", t.kind(), t.path(), s.key)
	case "exec":
		return fmt.Sprintf(`exec: {command: [sh, -c, 'test ! -e "$1" && cat > "$0"', %s, %s]}`, s.path, s.flag)
	}
	panic("unknown sink kind " + s.kind)
}

// world layout: groups g0..g4, each with projects p0..p7.
const (
	nGroups   = 5
	nProjects = 8
)

// newToken draws the i-th token of a scenario.
func newToken(rng *rand.Rand, dir string, i int) *tokenSpec {
	t := &tokenSpec{name: fmt.Sprintf("t%03d", i)}
	g := rng.IntN(nGroups)
	if rng.IntN(5) == 0 {
		t.group = fmt.Sprintf("g%d", g)
	} else {
		t.project = fmt.Sprintf("g%d/p%d", g, rng.IntN(nProjects))
	}
	t.strategy = strategies[i%len(strategies)]
	switch rng.IntN(4) { // lifetimes from 7 to 365 days, many short ones
	case 0:
		t.lifetime = 7 + rng.IntN(14)
	case 1:
		t.lifetime = 21 + rng.IntN(70)
	default:
		t.lifetime = 7 + rng.IntN(359)
	}
	if t.strategy == "overlap" {
		t.grace = time.Duration(1+rng.IntN(72)) * time.Hour
	}
	t.adopted = rng.IntN(2) == 0
	if t.adopted {
		t.adoptWait = rng.IntN(2) == 0
		t.ageDays = rng.IntN(t.lifetime - 1) // it expires a day after Start at the soonest
	}
	n := 1 + rng.IntN(3)
	for j := range n {
		t.sinks = append(t.sinks, newSink(rng, dir, t, j))
	}
	if t.strategy == "self" {
		// The token's own file: where it reads its current secret, and
		// where each rotation delivers the next one.
		t.tokenFile = filepath.Join(dir, "sinks", t.name+".self")
		t.sinks = append(t.sinks, &sinkSpec{kind: "file", path: t.tokenFile, format: "raw"})
	}
	return t
}

// newSink draws the j-th sink of t (or one added later by a reload).
func newSink(rng *rand.Rand, dir string, t *tokenSpec, j int) *sinkSpec {
	base := filepath.Join(dir, "sinks", fmt.Sprintf("%s-%d", t.name, j))
	switch rng.IntN(3) {
	case 0:
		s := &sinkSpec{kind: "file", format: []string{"dotenv", "json", "raw"}[rng.IntN(3)]}
		switch s.format {
		case "dotenv":
			s.path, s.key = base+".env", "TOKEN"
		case "json":
			s.path, s.key = base+".json", "gitlab.token"
		default:
			s.path = base + ".txt"
		}
		return s
	case 1:
		return &sinkSpec{kind: "gitlab_variable", key: strings.ToUpper(fmt.Sprintf("%s_%d", t.name, j))}
	}
	return &sinkSpec{kind: "exec", path: base + ".out", flag: base + ".fail"}
}

// eventKind is what happens at an event.
type eventKind int

const (
	evCheck       eventKind = iota // nothing: invariants at a clock edge
	evFaults                       // an episode of emulator faults begins
	evFaultsEnd                    // it ends
	evOutage                       // GitLab becomes unreachable
	evOutageEnd                    //
	evCrash                        // the process dies at a step of the next rotation(s)
	evCrashIdle                    // the process dies while it sleeps
	evReload                       // the config changes and is reloaded
	evSinkFail                     // an exec sink starts failing
	evSinkFailEnd                  //
)

var eventNames = map[eventKind]string{
	evCheck: "check", evFaults: "faults", evFaultsEnd: "faults end", evOutage: "outage", evOutageEnd: "outage end",
	evCrash: "crash mid-step", evCrashIdle: "crash while idle", evReload: "reload", evSinkFail: "sink fails", evSinkFailEnd: "sink recovers",
}

type event struct {
	at   time.Time
	kind eventKind
	// faults: which; crash: after how many more steps.
	fault fault
	n     int
}

// fault is one episode's emulator fault.
type fault struct {
	what   string // fail-rate, throttle, reset, drop
	method string
	path   string
	n      int
	rate   float64
}

func (f fault) String() string {
	switch f.what {
	case "fail-rate":
		return fmt.Sprintf("5xx on %.0f%% of requests", f.rate*100)
	case "throttle":
		return fmt.Sprintf("429 on %.0f%% of requests", f.rate*100)
	}
	return fmt.Sprintf("%s %s %s ×%d", f.what, f.method, f.path, f.n)
}

// The requests faults aim at: create, rotate, revoke, variable writes, lists.
var faultTargets = []struct{ method, path string }{
	{"POST", `/access_tokens$`},
	{"POST", `/access_tokens/[0-9]+/rotate$`},
	{"POST", `/access_tokens/self/rotate$`},
	{"DELETE", `/access_tokens/[0-9]+$`},
	{"PUT", `/variables/`},
	{"POST", `/variables$`},
	{"GET", `/access_tokens$`},
	{"GET", `/personal_access_tokens/self$`},
}

func newFault(rng *rand.Rand) fault {
	tg := faultTargets[rng.IntN(len(faultTargets))]
	switch rng.IntN(4) {
	case 0:
		return fault{what: "fail-rate", rate: 0.05 + rng.Float64()*0.3}
	case 1:
		return fault{what: "throttle", rate: 0.2 + rng.Float64()*0.7}
	case 2:
		return fault{what: "reset", method: tg.method, path: tg.path, n: 1 + rng.IntN(4)}
	}
	// Commit-then-drop hits writes only.
	for tg.method == "GET" {
		tg = faultTargets[rng.IntN(len(faultTargets))]
	}
	return fault{what: "drop", method: tg.method, path: tg.path, n: 1 + rng.IntN(3)}
}

// schedule draws the scenario's events over days, in time order.
func schedule(rng *rand.Rand, days int) []event {
	var evs []event
	end := Start.Add(time.Duration(days) * day)
	add := func(e event) {
		if e.at.Before(end) {
			evs = append(evs, e)
		}
	}
	at := func(from time.Time, within time.Duration) time.Time {
		return from.Add(time.Duration(rng.Int64N(int64(within))))
	}
	// Clock edges: just before and after every midnight UTC.
	for d := Start.Truncate(day).Add(day); d.Before(end); d = d.Add(day) {
		add(event{at: d.Add(-time.Second), kind: evCheck})
		add(event{at: d.Add(time.Second), kind: evCheck})
	}
	// Fault episodes, one at a time, on about one day in three.
	for t := Start.Add(time.Hour); t.Before(end); {
		t = at(t, 5*day)
		dur := time.Duration(1+rng.IntN(8)) * time.Hour
		add(event{at: t, kind: evFaults, fault: newFault(rng)})
		add(event{at: t.Add(dur), kind: evFaultsEnd})
		t = t.Add(dur)
	}
	// GitLab unreachable for hours, about every three weeks.
	for t := Start.Add(6 * time.Hour); t.Before(end); {
		t = at(t, 40*day)
		dur := time.Duration(1+rng.IntN(12)) * time.Hour
		add(event{at: t, kind: evOutage})
		add(event{at: t.Add(dur), kind: evOutageEnd})
		t = t.Add(dur)
	}
	// Crashes: mid-step in the next rotations, or while idle.
	for t := Start.Add(2 * time.Hour); t.Before(end); {
		t = at(t, 8*day)
		if rng.IntN(3) == 0 {
			add(event{at: t, kind: evCrashIdle})
		} else {
			add(event{at: t, kind: evCrash, n: 1 + rng.IntN(12)})
		}
	}
	// Config reloads, about every ten days.
	for t := Start.Add(12 * time.Hour); t.Before(end); {
		t = at(t, 20*day)
		add(event{at: t, kind: evReload})
	}
	// A sink fails for a day, about once a month.
	for t := Start.Add(3 * time.Hour); t.Before(end); {
		t = at(t, 60*day)
		add(event{at: t, kind: evSinkFail})
		add(event{at: t.Add(day), kind: evSinkFailEnd})
		t = t.Add(day)
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	return evs
}
