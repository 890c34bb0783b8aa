package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real-process soak (issue 16): `tokenwarden serve` runs as a child
// process against `tokenwarden sim`, following the emulator's clock
// (TOKENWARDEN_SIM_CLOCK); the test moves that clock on in jumps of hours
// and, at random moments (often in the middle of a rotation), kills serve
// with SIGKILL and starts it again, until 50 rotations are done. At every
// moment the test looks (serve running, dead or catching up), no token has
// two unfinished rotations, nor more live tokens than one plus its rotation
// under way, and no sink holds a token GitLab refuses unless a rotation to
// replace it is under way. Whenever serve has caught up, every sink holds
// the live token's secret, no token has more live tokens than its strategy
// allows, and no secret appears in serve's log or the journal's files.
func TestServeSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("the real-process soak takes a while")
	}
	exe, err := exec.LookPath("tokenwarden")
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(1)
	if s := os.Getenv("SOAK_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	dir := t.TempDir()
	const root = "soak-root-managing-secret-0123"
	fixture := writeFile(t, dir, "fixture.yaml", "now: 2028-02-25T22:00:00Z\ngroups:\n  - path: acme\n    projects:\n      - path: app\n")
	simCmd := exec.Command(exe, "sim", "--listen", "127.0.0.1:0", "--root-token", root, "--fixture", fixture)
	out, err := simCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	simCmd.Stderr = os.Stderr
	if err := simCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simCmd.Process.Kill(); _ = simCmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	base := regexp.MustCompile(`http://[0-9.:]+`).FindString(line)
	if base == "" {
		t.Fatalf("sim said %q", line)
	}
	go func() { _, _ = bufio.NewReader(out).WriteTo(discard{}) }()

	type tok struct{ name, strategy string }
	toks := []tok{{"ov", "overlap"}, {"ro", "rotate"}, {"se", "self"}, {"o2", "overlap"}}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "gitlab: {url: %s, token_file: %s}\nstate: sqlite://%s\n", base, writeFile(t, dir, "root.token", root+"\n"), filepath.Join(dir, "tw.db"))
	cfg.WriteString("policy: {expires_warning: 3d, expires_critical: 1d}\nserve: {scan_interval: 24h}\ntokens:\n")
	for _, tk := range toks {
		scopes := "read_api"
		extra := ""
		if tk.strategy == "self" {
			scopes = "api"
			extra = fmt.Sprintf("    token_file: %s\n", filepath.Join(dir, tk.name+".self"))
		}
		if tk.strategy == "overlap" {
			extra = "    grace: 1h\n"
		}
		fmt.Fprintf(&cfg, "  - name: %s\n    project: acme/app\n    scopes: [%s]\n    access_level: reporter\n    lifetime: 7d\n    strategy: %s\n%s    deliver:\n", tk.name, scopes, tk.strategy, extra)
		fmt.Fprintf(&cfg, "      - file: {path: %s, format: dotenv, key: TOKEN}\n", filepath.Join(dir, tk.name+".env"))
		fmt.Fprintf(&cfg, "      - exec: {command: [sh, -c, 'cat > \"$0\"', %s]}\n", filepath.Join(dir, tk.name+".out"))
		if tk.strategy == "self" {
			fmt.Fprintf(&cfg, "      - file: {path: %s, format: raw}\n", filepath.Join(dir, tk.name+".self"))
		}
	}
	cfgPath := writeFile(t, dir, "tokenwarden.yaml", cfg.String())
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	var serve *exec.Cmd
	var exited chan error
	start := func() {
		serve = exec.Command(exe, "serve", "-c", cfgPath, "--listen", "127.0.0.1:0")
		serve.Env = append(os.Environ(), "TOKENWARDEN_SIM_CLOCK="+base, "TOKENWARDEN_PASSWORD=soak-dashboard-password")
		serve.Stdout, serve.Stderr = logFile, logFile
		if err := serve.Start(); err != nil {
			t.Fatal(err)
		}
		exited = make(chan error, 1)
		go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(serve, exited)
	}
	kill := func() {
		_ = serve.Process.Signal(syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
	}
	start()
	t.Cleanup(func() { kill() })

	api := func(method, path, token string, body any) (int, []byte) {
		var req *http.Request
		if body != nil {
			b, _ := json.Marshal(body)
			req, _ = http.NewRequest(method, base+path, strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
		} else {
			req, _ = http.NewRequest(method, base+path, nil)
		}
		req.Header.Set("PRIVATE-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		return resp.StatusCode, []byte(b.String())
	}
	type glToken struct {
		ID        int64     `json:"id"`
		Name      string    `json:"name"`
		Active    bool      `json:"active"`
		Revoked   bool      `json:"revoked"`
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt string    `json:"expires_at"`
	}
	simNow := func() time.Time {
		_, b := api("GET", "/-/sim/clock", "", nil)
		var c struct {
			Now time.Time `json:"now"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("sim clock: %v (%s)", err, b)
		}
		return c.Now
	}
	listTokens := func() []glToken {
		var all []glToken
		for page := 1; ; page++ {
			code, b := api("GET", fmt.Sprintf("/api/v4/projects/%s/access_tokens?per_page=100&page=%d", url.PathEscape("acme/app"), page), root, nil)
			if code != 200 {
				t.Fatalf("list tokens: %d %s", code, b)
			}
			var list []glToken
			if err := json.Unmarshal(b, &list); err != nil {
				t.Fatal(err)
			}
			all = append(all, list...)
			if len(list) < 100 {
				return all
			}
		}
	}
	readSink := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		s := strings.TrimSpace(string(b))
		if v, ok := strings.CutPrefix(s, "TOKEN="); ok {
			s = strings.Trim(v, `"'`)
		}
		return s
	}
	// settled reports "" once serve has caught up with the emulator's time:
	// no token is due for renewal, an overlap token has a second live token
	// only within its grace period, and every sink holds the newest live
	// token's secret; else what is not so yet. More live tokens than the
	// strategy allows at any time fails the test.
	advance := func(d string) {
		if code, b := api("POST", "/-/sim/clock", root, map[string]string{"advance": d}); code != 200 {
			t.Fatalf("advance: %d %s", code, b)
		}
	}
	var roundStart time.Time // the emulator's time just after this round's jump
	settled := func(round int) string {
		now := simNow()
		list := listTokens()
		for _, tk := range toks {
			var live []glToken
			for _, g := range list {
				if g.Name == tk.name && g.Active {
					live = append(live, g)
				}
			}
			switch {
			case len(live) == 0:
				return tk.name + " has no live token"
			case len(live) > 2:
				t.Fatalf("seed %d, round %d: %s has %d live tokens", seed, round, tk.name, len(live))
			case len(live) == 2:
				if tk.strategy != "overlap" {
					t.Fatalf("seed %d, round %d: %s (strategy %s) has 2 live tokens", seed, round, tk.name, tk.strategy)
				}
				// The grace period runs from verification, which may come
				// late after a kill: an old token may live on while the
				// rotation that replaces it is of this round; one of an
				// earlier round had its grace pass at this round's jump.
				if live[1].CreatedAt.Before(roundStart) {
					return fmt.Sprintf("%s: the old token %d outlives the grace period", tk.name, live[0].ID)
				}
			}
			newest := live[len(live)-1]
			exp, err := time.Parse(time.DateOnly, newest.ExpiresAt)
			if err != nil {
				t.Fatalf("token %d expires_at %q", newest.ID, newest.ExpiresAt)
			}
			if renewAt := exp.Add(-7 * 24 * time.Hour / 3); !now.Before(renewAt) {
				return fmt.Sprintf("%s: token %d is due for renewal since %s", tk.name, newest.ID, renewAt.Format(time.RFC3339))
			}
			paths := []string{tk.name + ".env", tk.name + ".out"}
			if tk.strategy == "self" {
				paths = append(paths, tk.name+".self")
			}
			for _, p := range paths {
				v := readSink(filepath.Join(dir, p))
				code, b := api("GET", "/api/v4/personal_access_tokens/self", v, nil)
				var self glToken
				_ = json.Unmarshal(b, &self)
				if code != 200 || self.ID != newest.ID {
					return fmt.Sprintf("%s holds token %d (answer %d), the live token is %d", p, self.ID, code, newest.ID)
				}
			}
		}
		return ""
	}
	// The journal as the test sees it, read-only beside serve: the refs of
	// the unfinished rotations, and the newest event's seq (every write
	// adds one), so that a check can tell whether serve wrote meanwhile.
	journalDB, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tw.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer journalDB.Close()
	type journalView struct {
		mark int64
		open map[string]int // token name → unfinished rotations
	}
	readJournal := func() (journalView, bool) {
		v := journalView{open: map[string]int{}}
		if err := journalDB.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&v.mark); err != nil {
			return v, false // not created yet, or locked: no verdict
		}
		rows, err := journalDB.Query(`SELECT token_name FROM rotations WHERE step NOT IN ('done', 'failed')`)
		if err != nil {
			return v, false
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			if rows.Scan(&name) == nil {
				v.open[name]++
			}
		}
		return v, rows.Err() == nil
	}
	// invariants checks, at any moment (serve running, dead or catching
	// up), what the in-process soak checks after every event: at most one
	// unfinished rotation per token; no more live tokens than one, two
	// while a rotation is under way; no sink holding a revoked or expired
	// token unless a rotation to replace it is under way. GitLab and the
	// sinks are read between two reads of the journal; when serve wrote
	// to it meanwhile the moment is skipped (no verdict).
	checks := 0
	invariants := func(round int) {
		t.Helper()
		before, ok := readJournal()
		if !ok {
			return
		}
		list := listTokens()
		held := map[string][]int{} // sink → answer of personal_access_tokens/self
		for _, tk := range toks {
			for _, p := range []string{tk.name + ".env", tk.name + ".out", tk.name + ".self"} {
				if v := readSink(filepath.Join(dir, p)); v != "" {
					code, _ := api("GET", "/api/v4/personal_access_tokens/self", v, nil)
					held[tk.name] = append(held[tk.name], code)
				}
			}
		}
		after, ok := readJournal()
		if !ok || after.mark != before.mark {
			return
		}
		checks++
		for _, tk := range toks {
			open := before.open[tk.name]
			if open > 1 {
				t.Fatalf("seed %d, round %d: %s has %d unfinished rotations", seed, round, tk.name, open)
			}
			live := 0
			for _, g := range list {
				if g.Name == tk.name && g.Active {
					live++
				}
			}
			if live > 1+open {
				t.Fatalf("seed %d, round %d: %s has %d live tokens and %d rotations under way", seed, round, tk.name, live, open)
			}
			for _, code := range held[tk.name] {
				if code != 200 && open == 0 {
					t.Fatalf("seed %d, round %d: a sink of %s holds a token GitLab refuses (%d) and no rotation is under way to replace it", seed, round, tk.name, code)
				}
			}
		}
	}
	waitSettled := func(round int) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		var graced time.Time
		for {
			invariants(round)
			why := settled(round)
			if why == "" {
				return
			}
			if strings.Contains(why, "outlives the grace period") && time.Since(graced) > time.Second {
				// Verified only after this round's jump (serve was
				// killed before it verified, and the restarted one
				// verified it): its grace runs from there, and the
				// emulator's clock must pass it for the old token to go.
				advance("61m")
				graced = time.Now()
			}
			select {
			case err := <-exited:
				log, _ := os.ReadFile(logPath)
				t.Fatalf("seed %d, round %d: serve exited (%v)\nserve's log (tail):\n%s", seed, round, err, tail(string(log), 40))
			default:
			}
			if time.Now().After(deadline) {
				// Where serve is: its goroutines' stacks into the log.
				_ = serve.Process.Signal(syscall.SIGQUIT)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
				}
				log, _ := os.ReadFile(logPath)
				if keep := os.Getenv("SOAK_KEEP_LOG"); keep != "" {
					_ = os.WriteFile(keep, log, 0o600)
				}
				t.Fatalf("seed %d, round %d: serve did not catch up within 90s: %s\nserve's log (tail):\n%s", seed, round, why, tail(string(log), 40))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	secretRE := regexp.MustCompile(`glpat-[A-Za-z0-9_-]{20}`)
	leaks := func(round int) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "tw.db*"))
		for _, f := range append(files, logPath) {
			b, _ := os.ReadFile(f)
			if loc := secretRE.FindIndex(b); loc != nil {
				t.Fatalf("seed %d, round %d: a secret in plain text in %s at byte %d", seed, round, filepath.Base(f), loc[0])
			}
		}
	}

	waitSettled(0)
	created := len(listTokens())
	kills := 0
	for round := 1; ; round++ {
		rotations := len(listTokens()) - created
		if rotations >= 50 {
			t.Logf("seed %d: %d rotations over %d rounds, %d SIGKILLs, invariants checked at %d moments", seed, rotations, round-1, kills, checks)
			if checks < round {
				t.Errorf("the invariants were checked at only %d moments over %d rounds", checks, round-1)
			}
			break
		}
		if round > 400 {
			t.Fatalf("seed %d: only %d rotations after %d rounds", seed, rotations, round)
		}
		hours := 6 + rng.IntN(30)
		advance(fmt.Sprintf("%dh", hours))
		roundStart = simNow()
		invariants(round)
		if rng.IntN(2) == 0 {
			// A random moment: serve notices the jump within tens of
			// milliseconds and is often mid-rotation when it dies.
			time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
			kill()
			kills++
			invariants(round)
			start()
		}
		waitSettled(round)
		leaks(round)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
