// Command bench measures tokenwarden at scale against the GitLab emulator
// and prints every figure of issue 13 in one table (make bench): scan's API
// calls against the lower bound, its wall time against the concurrency
// floor and its peak RSS at 101,000 tokens; plan's calls and serve's memory
// and scan-plus-plan cycle at 5,000 managed tokens; rotation throughput
// against the emulator's rate limit; dashboard render times and /metrics
// size (from go test -bench). Peak RSS is the child process's
// (rusage.Maxrss): the built binary runs as a child, as a user runs it.
//
//	go run ./internal/bench -bin bin/tokenwarden [-quick]
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// rootToken is the emulator's administrator token, made afresh for each
// run: no token-shaped secret sits in the source.
var rootToken = "glpat-" + rand.Text()[:20]

const (
	latency     = 20 * time.Millisecond
	concurrency = 16 // scan's default
	password    = "bench-operator-password"
)

type row struct{ figure, value, target, note string }

var rows []row

func add(figure, value, target, note string) {
	rows = append(rows, row{figure, value, target, note})
	fmt.Fprintf(os.Stderr, "  %s: %s\n", figure, value)
}

func main() {
	bin := flag.String("bin", "bin/tokenwarden", "the tokenwarden binary to measure")
	quick := flag.Bool("quick", false, "a tenth of the sizes (a quick check of the bench itself)")
	rotations := flag.Int("rotations", 1000, "due tokens rotated under the rate limit (about 8 minutes for 1000)")
	rotationLatency := flag.Duration("rotation-latency", 100*time.Millisecond, "the emulator's latency for the rotation figure (at 20 ms one rotation at a time already meets the limit)")
	rotationConcurrency := flag.String("rotation-concurrency", "4", "rotations at once (concurrency:) for the rotation figure; several, comma-separated, run one after another")
	skipGo := flag.Bool("skip-go-bench", false, "leave out the dashboard and /metrics benchmarks (go test -bench)")
	only := flag.String("only", "", "run only these parts, comma-separated: scan, managed, rotation, go")
	flag.Parse()
	want := func(part string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), part) }
	abs, err := filepath.Abs(*bin)
	if err != nil {
		fatal(err)
	}
	*bin = abs
	groups, managed := 1000, 5000
	if *quick {
		groups, managed, *rotations = 100, 500, min(*rotations, 30)
	}
	dir, err := os.MkdirTemp("", "tokenwarden-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)

	if want("scan") {
		fmt.Fprintf(os.Stderr, "scan: %d groups × 10 projects × 10 tokens, %s latency\n", groups, latency)
		benchScan(*bin, dir, groups)
	}
	if want("managed") {
		fmt.Fprintf(os.Stderr, "plan and serve: %d managed tokens, %s latency\n", managed, latency)
		benchManaged(*bin, dir, managed)
	}
	if want("rotation") {
		for _, c := range strings.Split(*rotationConcurrency, ",") {
			n, err := strconv.Atoi(c)
			if err != nil || n < 1 {
				fatal(fmt.Errorf("-rotation-concurrency: %q is not a positive number", c))
			}
			fmt.Fprintf(os.Stderr, "rotation: %d due tokens, --rate-limit 600, %s latency, concurrency %d\n", *rotations, *rotationLatency, n)
			benchRotation(*bin, dir, *rotations, *rotationLatency, n)
		}
	}
	if !*skipGo && want("go") {
		fmt.Fprintln(os.Stderr, "dashboard and /metrics at 110,000 tokens (go test -bench)")
		benchGo()
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "| figure\t| measured\t| target\t| note\t|")
	fmt.Fprintln(w, "|---\t|---\t|---\t|---\t|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s\t| %s\t| %s\t| %s\t|\n", r.figure, r.value, r.target, r.note)
	}
	w.Flush()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// simProc is the emulator, run as a child process of its own (tokenwarden
// sim): were it in this process, each measured child would inherit this
// process's resident memory in its rusage (Linux records the old address
// space's high-water mark at exec), and would share its CPU.
type simProc struct {
	cmd *exec.Cmd
	url string
}

func startSim(bin, dir string, args ...string) *simProc {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"sim", "--listen", addr, "--root-token", rootToken, "--seed", "1"}, args...)...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	p := &simProc{cmd: cmd, url: "http://" + addr}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := p.stats(); err == nil {
			return p
		}
		if time.Now().After(deadline) {
			fatal(fmt.Errorf("the emulator did not start: %s", errb.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type simStats struct {
	Requests, Throttled int64
	AdminRequests       int64 `json:"admin_requests"`
	Groups, Projects    int
	GroupTokens         int `json:"group_tokens"`
	ProjectTokens       int `json:"project_tokens"`
}

func (p *simProc) stats() (simStats, error) {
	var st simStats
	req, _ := http.NewRequest(http.MethodGet, p.url+"/-/sim/stats", nil)
	req.Header.Set("PRIVATE-TOKEN", rootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("/-/sim/stats: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (p *simProc) mustStats() simStats {
	st, err := p.stats()
	if err != nil {
		fatal(err)
	}
	return st
}

func (p *simProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// result is one child run.
type result struct {
	wall   time.Duration
	maxRSS int64 // KiB
	out    int64 // bytes written to stdout
	stderr string
}

// run runs the binary with args in dir, GitLab at url, and measures it.
func run(bin, dir, url string, args ...string) result {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GITLAB_URL="+url, "GITLAB_TOKEN="+rootToken, "TOKENWARDEN_PASSWORD="+password, "NO_COLOR=1")
	var out counter
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := result{wall: time.Since(start), out: out.n, stderr: errb.String()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.maxRSS = ru.Maxrss
	}
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) { // 3: findings, not a failure
		fatal(fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, errb.String()))
	}
	return res
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func benchScan(bin, dir string, groups int) {
	srv := startSim(bin, dir, "--groups", fmt.Sprint(groups), "--projects-per-group", "10", "--tokens-per-project", "10", "--latency", latency.String())
	defer srv.stop()
	st := srv.mustStats()
	tokens := st.GroupTokens + st.ProjectTokens
	// One list call per 100 groups, per 100 projects, and per 100 tokens of
	// each group and project (each has at most 100 here).
	bound := ceilDiv(st.Groups, 100) + ceilDiv(st.Projects, 100) + st.Groups + st.Projects
	for _, format := range []string{"json", "csv", "table"} {
		before := srv.mustStats().Requests
		r := run(bin, dir, srv.url, "scan", "--format", format)
		calls := int(srv.mustStats().Requests - before) // /-/sim/ calls are not counted
		if format == "json" {
			floor := time.Duration(calls) * latency / concurrency
			add("scan API calls / lower bound", fmt.Sprintf("%d / %d = %.3f×", calls, bound, float64(calls)/float64(bound)), "≤ 1.05×",
				fmt.Sprintf("%d tokens in %d groups and %d projects", tokens, st.Groups, st.Projects))
			add("scan wall / (calls × latency ÷ concurrency)", fmt.Sprintf("%.1f s / %.1f s = %.2f×", r.wall.Seconds(), floor.Seconds(), r.wall.Seconds()/floor.Seconds()),
				"≤ 1.25×", fmt.Sprintf("%s latency, concurrency %d, 2 shared cores", latency, concurrency))
		}
		target, note := "< 100 MiB", fmt.Sprintf("streamed, %.0f MB written", float64(r.out)/1e6)
		if format == "table" {
			target, note = "(buffers)", "sorted by urgency: holds every row"
		}
		add(fmt.Sprintf("scan --format %s peak RSS", format), mib(r.maxRSS), target, note)
	}
}

// managedWorld writes a fixture of n tokens (10 per project; due, or far
// from it) and the config that manages them, in a directory of their own.
func managedWorld(dir, name string, n int, due bool) string {
	now := time.Now().UTC()
	exp := now.AddDate(0, 0, 300)
	if due {
		exp = now.AddDate(0, 0, 3)
	}
	sub := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(sub, "out"), 0o700); err != nil {
		fatal(err)
	}
	if _, err := secret.LoadOrCreateKey(filepath.Join(sub, "tw.key")); err != nil {
		fatal(err)
	}
	var fix, cfg strings.Builder
	fmt.Fprintf(&fix, "groups:\n  - path: bench\n    projects:\n")
	for p := range ceilDiv(n, 10) {
		fmt.Fprintf(&fix, "      - path: svc-%d\n        tokens:\n", p)
		for i := range min(10, n-p*10) {
			fmt.Fprintf(&fix, "          - {name: deploy-%d, description: d, scopes: [read_api], access_level: 20, created_at: %s, expires_at: %s}\n",
				i, now.AddDate(0, 0, -20).Format(time.DateOnly), exp.Format(time.DateOnly))
			fmt.Fprintf(&cfg, "  - {name: deploy-%d, description: d, project: bench/svc-%d, scopes: [read_api], access_level: reporter,\n     deliver: [{file: {path: out/%d-%d.env, format: dotenv, key: TOKEN}}]}\n", i, p, p, i)
		}
	}
	head := "gitlab: {url: URL, token_env: GITLAB_TOKEN}\nstate: sqlite://tw.db\nkey_file: tw.key\ndefaults: {lifetime: 365d, grace: 1s}\nserve: {scan_interval: 24h}\ntokens:\n"
	for file, text := range map[string]string{"tw.yaml": head + cfg.String(), "fixture.yaml": fix.String()} {
		if err := os.WriteFile(filepath.Join(sub, file), []byte(text), 0o600); err != nil {
			fatal(err)
		}
	}
	return sub
}

func setURL(dir, url string) {
	p := filepath.Join(dir, "tw.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		fatal(err)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte("url: URL"), []byte("url: "+url), 1), 0o600); err != nil {
		fatal(err)
	}
}

func benchManaged(bin, dir string, n int) {
	sub := managedWorld(dir, "managed", n, false)
	srv := startSim(bin, sub, "--fixture", "fixture.yaml", "--latency", latency.String())
	defer srv.stop()
	setURL(sub, srv.url)
	projects := ceilDiv(n, 10)

	before := srv.mustStats().Requests
	r := run(bin, sub, srv.url, "plan", "-c", "tw.yaml", "--format", "json")
	calls := int(srv.mustStats().Requests - before)
	add("plan API calls", fmt.Sprintf("%d for %d tokens on %d projects", calls, n, projects), fmt.Sprintf("≈ 2 per resource (%d)", 2*projects),
		"a lookup and a token list per project, not per token")
	add("plan wall / peak RSS", fmt.Sprintf("%.1f s / %s", r.wall.Seconds(), mib(r.maxRSS)), "measured", fmt.Sprintf("%s latency, 8 resources at a time", latency))

	// serve: from start to the first scan and plan done (/readyz), then stop.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "-c", "tw.yaml", "--listen", addr)
	cmd.Dir = sub
	cmd.Env = append(os.Environ(), "GITLAB_TOKEN="+rootToken, "TOKENWARDEN_PASSWORD="+password)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	ready := waitReady(addr, 10*time.Minute)
	scanned := time.Since(start)
	planned := ready && waitPlanned(addr, 10*time.Minute)
	cycle := time.Since(start)
	// A second cycle, on the daemon's own schedule, is not forced: the
	// first one is what a restart costs. Peak RSS covers it.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if !ready || !planned {
		fatal(fmt.Errorf("serve never scanned and planned (ready %v):\n%s", ready, errb.String()))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	st := srv.mustStats()
	add("serve first scan / scan + plan", fmt.Sprintf("%.1f s / %.1f s", scanned.Seconds(), cycle.Seconds()), "measured",
		fmt.Sprintf("%d managed of %d tokens: from start to /readyz, then to the plan's series on /metrics", n, st.ProjectTokens+st.GroupTokens))
	add("serve peak RSS", mib(rss), "measured", "through the first cycle")
}

// waitPlanned polls /metrics until the managed tokens' next-rotation
// series are there: the first plan is done.
func waitPlanned(addr string, limit time.Duration) bool {
	return poll(addr, "/metrics", limit, 100*time.Millisecond, func(_ int, body []byte) bool {
		return bytes.Contains(body, []byte("tokenwarden_token_next_rotation_timestamp_seconds{"))
	})
}

// waitReady polls /readyz until it answers 200.
func waitReady(addr string, limit time.Duration) bool {
	return poll(addr, "/readyz", limit, 50*time.Millisecond, func(status int, _ []byte) bool {
		return status == http.StatusOK
	})
}

// poll GETs path from the server at addr, with the password, every so
// often until done accepts an answer (true) or limit has passed (false).
func poll(addr, path string, limit, every time.Duration, done func(status int, body []byte) bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+password)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if done(resp.StatusCode, b) {
				return true
			}
		}
		time.Sleep(every)
	}
	return false
}

// benchRotation applies n due tokens against the emulator's rate limit of
// 600 requests a minute per user, with lat of latency per request and
// concurrency rotations at once (concurrency:).
func benchRotation(bin, dir string, n int, lat time.Duration, concurrency int) {
	const limit = 600
	sub := managedWorld(dir, fmt.Sprintf("rotation-%d", concurrency), n, true)
	cfgPath := filepath.Join(sub, "tw.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("concurrency: %d\n%s", concurrency, b)), 0o600); err != nil {
		fatal(err)
	}
	srv := startSim(bin, sub, "--fixture", "fixture.yaml", "--latency", lat.String(), "--rate-limit", fmt.Sprint(limit))
	defer srv.stop()
	setURL(sub, srv.url)
	before := srv.mustStats()
	start := time.Now()
	// The managing user's requests in each clock minute (the emulator's
	// rate-limit windows, like GitLab's), sampled while apply runs.
	perMinute := map[int64]int64{}
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if st, err := srv.stats(); err == nil {
				perMinute[time.Now().Unix()/60] = st.AdminRequests
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	r := run(bin, sub, srv.url, "apply", "-c", "tw.yaml", "--yes")
	end := time.Now()
	close(stop)
	<-sampled
	after := srv.mustStats()
	calls := after.Requests - before.Requests
	managing := after.AdminRequests - before.AdminRequests
	// A run held back only by the limit uses the whole budget of every
	// minute it touches but the last, in which it ran out of work: the
	// budget is limit requests per user in each fixed clock minute (each
	// new token's verification counts to its own bot user).
	first, last := start.Unix()/60, end.Unix()/60
	var full int64
	prev := before.AdminRequests
	for m := first; m < last; m++ {
		if n, ok := perMinute[m]; ok {
			full, prev = full+n-prev, n
		}
	}
	windows := last - first + 1
	what := fmt.Sprintf("concurrency %d, %s latency", concurrency, lat)
	rate := "— (done within one minute)"
	if windows > 1 {
		rate = fmt.Sprintf("%d / %d = %.0f%%", full, (windows-1)*limit, 100*float64(full)/float64((windows-1)*limit))
	}
	add("rotation ("+what+"): managing requests / allowed, in the full minutes it ran", rate, "≥ 90%",
		fmt.Sprintf("%d due tokens in %.1f s; %d managing requests over %d rate-limit minute(s) of %d, %d requests in all", n, r.wall.Seconds(), managing, windows, limit, calls))
	add("rotation ("+what+"): 429 answers", fmt.Sprint(after.Throttled-before.Throttled), "0",
		fmt.Sprintf("%.0f rotations a minute", float64(n)/r.wall.Minutes()))
}

// benchGo runs the dashboard and /metrics benchmarks and picks their figures.
func benchGo() {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "Pages|ScrapeSize", "-benchtime", "5x", "./internal/web/", "./internal/metrics/")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		fatal(fmt.Errorf("go test -bench: %v\n%s", err, out.String()))
	}
	line := regexp.MustCompile(`^Benchmark(\w+)/(\S+?)(-\d+)?\s+\d+\s+\d+ ns/op(.*)$`)
	metric := regexp.MustCompile(`([\d.]+) (\S+)`)
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		vals := map[string]string{}
		for _, mm := range metric.FindAllStringSubmatch(m[4], -1) {
			vals[mm[2]] = mm[1]
		}
		switch m[1] {
		case "Pages":
			add("dashboard "+pagePath(m[2]), fmt.Sprintf("%s ms (first %s ms), %s KiB", vals["ms/page"], vals["first_ms"], vals["KiB"]), "< 200 ms", "110,000 tokens")
		case "ScrapeSize":
			add("/metrics with "+m[2], fmt.Sprintf("%s MiB, %s ms", vals["MiB"], vals["ms/scrape"]), "scrapeable", "110,000 tokens, one in ten managed")
		}
	}
}

// pagePath undoes the benchmark's name: the path with "|" for "/".
func pagePath(name string) string { return strings.ReplaceAll(name, "|", "/") }
