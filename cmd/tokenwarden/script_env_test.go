package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// simKey is where a script's emulator lives in testscript's per-script values.
type simKey struct{}

// simState is one script's emulator, if it started one.
type simState struct {
	srv   *sim.Server
	clock *clock.Fake
	url   string
}

// simRootToken is root's api token in every script's emulator, so that
// scripts can put it in files (--token-file) and check it never leaks.
const simRootToken = "glpat-root0000000000000000"

// defaultSimNow is the emulator's time when the fixture sets none.
var defaultSimNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// scriptSetup prepares each script's environment. Commands that need an
// emulated GitLab start one with the `sim` script command (see scriptCmds).
func scriptSetup(env *testscript.Env) error {
	env.Setenv("NO_COLOR", "1")
	env.Values[simKey{}] = &simState{}
	return nil
}

// scriptCmds are the custom testscript commands shared by all scripts.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"sim":      cmdSim,
		"jsonpath": cmdJSONPath,
		"exitcode": cmdExitCode,
		"waitfile": cmdWaitFile,
		"httpget":  cmdHTTPGet,
	}
}

// cmdSim drives an in-process GitLab emulator (the tokenwarden binary under
// test reaches it over HTTP):
//
//	sim start [fixture.yaml] [-seed N] [-groups N] [-projects N] [-tokens N] [-latency D] [-ratelimit N]
//	    starts it on a fake clock at the fixture's `now:` (default
//	    2026-11-25T12:00:00Z) with root's token glpat-root0000000000000000, and sets GITLAB_URL (and SIMURL, the same, to
//	    restore it), GITLAB_TOKEN (root's api token) and TOKENWARDEN_NOW (the
//	    emulator's time) for later commands.
//	sim advance 72h          moves the emulator's clock (and TOKENWARDEN_NOW)
//	sim stats                prints the emulator's stats as JSON on stdout
//	sim id group|project PATH
//	                         prints the numeric id of a group or project
//	sim fault reset|drop|hang METHOD PATH-REGEXP N
//	                         the next N requests matching METHOD and the path
//	                         regexp: reset the connection / commit then drop
//	                         the response / commit then answer nothing until
//	                         the client gives up; {group:PATH} and {project:PATH}
//	                         in the regexp become numeric ids
//	sim fault fail P         answer a fraction P (0 to 1) of requests with 500
//	sim fault throttle N     answer the next N requests with 429
//	sim fault clear          remove all faults
var runnerTokenRE = regexp.MustCompile(`glrt-[A-Za-z0-9_-]+`)

func cmdSim(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sim")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: sim start|advance|stats|id|fault|runner-tokens …")
	}
	st := ts.Value(simKey{}).(*simState)
	if args[0] != "start" && st.srv == nil {
		ts.Fatalf("sim %s: no emulator; run `sim start` first", args[0])
	}
	switch args[0] {
	case "start":
		simStart(ts, st, args[1:])
	case "advance":
		if len(args) != 2 {
			ts.Fatalf("usage: sim advance DURATION")
		}
		d, err := duration.Parse(args[1])
		ts.Check(err)
		st.clock.Advance(d)
		ts.Setenv("TOKENWARDEN_NOW", st.clock.Now().UTC().Format(time.RFC3339))
	case "stats":
		b, err := json.MarshalIndent(st.srv.Stats(), "", "  ")
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%s\n", b)
	case "id":
		if len(args) != 3 {
			ts.Fatalf("usage: sim id group|project PATH")
		}
		fmt.Fprintf(ts.Stdout(), "%d\n", simID(ts, st, args[1], args[2]))
	case "fault":
		simFault(ts, st, args[1:])
	case "runner-tokens":
		// Each runner token (glrt-…) in FILE, in file order: live or dead,
		// as POST /runners/verify would answer.
		if len(args) != 2 {
			ts.Fatalf("usage: sim runner-tokens FILE")
		}
		for _, tok := range runnerTokenRE.FindAllString(ts.ReadFile(args[1]), -1) {
			state := "dead"
			if st.srv.RunnerTokenValid(tok) {
				state = "live"
			}
			fmt.Fprintln(ts.Stdout(), state)
		}
	default:
		ts.Fatalf("sim: unknown subcommand %q", args[0])
	}
}

func simStart(ts *testscript.TestScript, st *simState, args []string) {
	if st.srv != nil {
		ts.Fatalf("sim start: already started")
	}
	fs := flag.NewFlagSet("sim start", flag.ContinueOnError)
	seed := fs.Int64("seed", 1, "generator seed")
	groups := fs.Int("groups", 0, "seeded groups")
	projects := fs.Int("projects", 0, "seeded projects per group")
	tokens := fs.Int("tokens", 0, "seeded tokens per project")
	latency := fs.Duration("latency", 0, "latency per request")
	rateLimit := fs.Int("ratelimit", 0, "requests per minute per user")
	saas := fs.Bool("saas", false, "serve GitLab.com-only endpoints")
	var fixture string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		fixture, args = args[0], args[1:]
	}
	ts.Check(fs.Parse(args))
	if fs.NArg() > 0 {
		ts.Fatalf("sim start: unexpected arguments %q", fs.Args())
	}
	fake := clock.NewFake(defaultSimNow)
	srv, err := sim.New(sim.Options{
		Clock: fake, Seed: *seed, RootToken: simRootToken, Groups: *groups, ProjectsPerGroup: *projects, TokensPerProject: *tokens,
		Latency: *latency, RateLimit: *rateLimit, SaaS: *saas,
	})
	ts.Check(err)
	if fixture != "" {
		f, err := os.Open(ts.MkAbs(fixture))
		ts.Check(err)
		err = srv.LoadFixture(f)
		f.Close()
		ts.Check(err)
	}
	hs := httptest.NewServer(srv)
	ts.Defer(hs.Close)
	st.srv, st.clock, st.url = srv, fake, hs.URL
	ts.Setenv("GITLAB_URL", hs.URL)
	ts.Setenv("SIMURL", hs.URL)
	ts.Setenv("GITLAB_TOKEN", srv.RootToken())
	ts.Setenv("TOKENWARDEN_NOW", fake.Now().UTC().Format(time.RFC3339))
}

var simPlaceholder = regexp.MustCompile(`\{(group|project):([^}]+)\}`)

func simFault(ts *testscript.TestScript, st *simState, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: sim fault reset|drop|fail|throttle|clear …")
	}
	f := st.srv.Faults()
	switch args[0] {
	case "clear":
		f.Clear()
		return
	case "throttle":
		if len(args) != 2 {
			ts.Fatalf("usage: sim fault throttle N")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		f.Throttle(n)
		return
	case "fail":
		if len(args) != 2 {
			ts.Fatalf("usage: sim fault fail P")
		}
		p, err := strconv.ParseFloat(args[1], 64)
		if err != nil || p < 0 || p > 1 {
			ts.Fatalf("sim fault fail: want a fraction from 0 to 1, not %q", args[1])
		}
		f.FailRate(p)
		return
	}
	if len(args) != 4 {
		ts.Fatalf("usage: sim fault %s METHOD PATH-REGEXP N", args[0])
	}
	n, err := strconv.Atoi(args[3])
	ts.Check(err)
	re := simPlaceholder.ReplaceAllStringFunc(args[2], func(m string) string {
		p := simPlaceholder.FindStringSubmatch(m)
		return strconv.FormatInt(simID(ts, st, p[1], p[2]), 10)
	})
	switch args[0] {
	case "reset":
		f.ResetConnection(args[1], re, n)
	case "drop":
		f.DropAfterCommit(args[1], re, n)
	case "hang":
		f.HangAfterCommit(args[1], re, n)
	default:
		ts.Fatalf("sim fault: unknown fault %q", args[0])
	}
}

func simID(ts *testscript.TestScript, st *simState, kind, path string) int64 {
	switch kind {
	case "group":
		g, ok := st.srv.GroupByPath(path)
		if !ok {
			ts.Fatalf("sim: no group %q", path)
		}
		return g.ID
	case "project":
		p, ok := st.srv.ProjectByPath(path)
		if !ok {
			ts.Fatalf("sim: no project %q", path)
		}
		return p.ID
	}
	ts.Fatalf("sim: want group or project, not %q", kind)
	return 0
}

// cmdJSONPath checks one value in a JSON file:
//
//	jsonpath FILE PATH WANT
//
// PATH is a chain of .key, [N] (index), [key=value] (the first element whose
// key has that value) and a final |length (of an array or object). Strings
// compare unquoted; anything else as compact JSON. With !, the value must
// differ (or the path must not resolve).
func cmdJSONPath(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonpath FILE PATH WANT")
	}
	var doc any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &doc); err != nil {
		ts.Fatalf("jsonpath: %s is not JSON: %v", args[0], err)
	}
	got, err := jsonPath(doc, args[1])
	if err != nil {
		if neg {
			return
		}
		ts.Fatalf("jsonpath %s: %v", args[1], err)
	}
	s, ok := got.(string)
	if !ok {
		b, _ := json.Marshal(got)
		s = string(b)
	}
	if (s == args[2]) == neg {
		if neg {
			ts.Fatalf("jsonpath %s = %s, want anything else", args[1], s)
		}
		ts.Fatalf("jsonpath %s = %s, want %s", args[1], s, args[2])
	}
}

var jsonPathStep = regexp.MustCompile(`^(?:\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[([A-Za-z0-9_-]+)=([^\]]*)\]|(\|length))`)

func jsonPath(v any, path string) (any, error) {
	for rest := path; rest != ""; {
		m := jsonPathStep.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("bad path at %q", rest)
		}
		rest = rest[len(m[0]):]
		switch {
		case m[1] != "":
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf(".%s: not an object", m[1])
			}
			if v, ok = obj[m[1]]; !ok {
				return nil, fmt.Errorf("no key %q", m[1])
			}
		case m[2] != "":
			arr, ok := v.([]any)
			i, _ := strconv.Atoi(m[2])
			if !ok || i >= len(arr) {
				return nil, fmt.Errorf("[%d]: not an array or out of range", i)
			}
			v = arr[i]
		case m[3] != "":
			arr, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("[%s=%s]: not an array", m[3], m[4])
			}
			found := false
			for _, e := range arr {
				if obj, ok := e.(map[string]any); ok && fmt.Sprint(obj[m[3]]) == m[4] {
					v, found = e, true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("no element with %s=%s", m[3], m[4])
			}
		case m[5] != "":
			switch x := v.(type) {
			case []any:
				v = float64(len(x))
			case map[string]any:
				v = float64(len(x))
			default:
				return nil, fmt.Errorf("|length: not an array or object")
			}
		}
	}
	return v, nil
}

// cmdExitCode runs a program like exec and checks its exact exit code:
//
//	exitcode N PROG ARGS...
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdWaitFile waits until a file written by a background command matches a
// regular expression (up to a minute: a loaded machine is slow), and can
// keep what it matched:
//
//	waitfile FILE REGEXP [VAR]
//
// VAR, when given, is set to the first group of REGEXP (or the whole match).
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitfile FILE REGEXP [VAR]")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	var content []byte
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		content, _ = os.ReadFile(path)
		m := re.FindSubmatch(content)
		if m == nil {
			continue
		}
		if len(args) == 3 {
			ts.Setenv(args[2], string(m[len(m)-1]))
		}
		return
	}
	ts.Fatalf("waitfile: %s does not match %q after a minute; it holds:\n%s", args[0], args[1], content)
}

// cmdHTTPGet sends a GET request and prints the response body on stdout:
//
//	httpget [-H 'Name: value']... URL
//
// It fails unless the status is 2xx; with !, unless it is not.
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	header := http.Header{}
	for len(args) >= 2 && args[0] == "-H" {
		name, value, ok := strings.Cut(args[1], ":")
		if !ok {
			ts.Fatalf("httpget: header %q: want 'Name: value'", args[1])
		}
		header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		args = args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: httpget [-H 'Name: value']... URL")
	}
	req, err := http.NewRequest(http.MethodGet, args[0], nil)
	ts.Check(err)
	req.Header = header
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		ts.Fatalf("httpget: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n", body)
	if ok := res.StatusCode/100 == 2; ok == neg {
		ts.Fatalf("httpget %s: status %s", args[0], res.Status)
	}
}
