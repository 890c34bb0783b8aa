package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/testenv"
	"gitlab.com/tokenwarden/tokenwarden/internal/web"
)

var rootToken = simtest.RootToken

// chromium finds Debian's chromium. Without it the browser test is skipped,
// except in CI, where a missing browser must not pass silently.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "chromium is not on PATH (apt-get install -y chromium)")
	return ""
}

// liveSite runs the whole daemon and dashboard in-process, as serve does,
// against the emulator with a seeded instance and one managed token.
func liveSite(t *testing.T) (base string, srv *sim.Server) {
	t.Helper()
	w := simtest.NewWorld(t, simtest.WorldOptions{Start: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), RootToken: rootToken, Seed: 7,
		Instance: sim.Options{Groups: 3, ProjectsPerGroup: 2, TokensPerProject: 2}})
	w.ClientsOnFakeClock = true
	clk, srv, p := w.Clock, w.Srv, w.Project
	exp := clk.Now().Truncate(24*time.Hour).AddDate(0, 0, 40)
	pat, _, err := srv.CreateAccessToken("project", p.ID, sim.TokenSpec{
		Name: "deploy", Description: "pulls images", Scopes: []string{"read_api"}, AccessLevel: 20,
		CreatedAt: exp.AddDate(0, 0, -90), ExpiresAt: &exp,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A deploy token with the access token's id (GitLab numbers each kind
	// on its own), listed because serve.kinds asks for deploy tokens.
	var dep sim.DeployToken
	for dep.ID < pat.ID-1 {
		if dep, _, err = srv.CreateDeployToken("project", p.ID, sim.DeployTokenSpec{Name: "filler", Scopes: []string{"read_registry"}}); err != nil {
			t.Fatal(err)
		}
	}
	if dep, _, err = srv.CreateDeployToken("project", p.ID, sim.DeployTokenSpec{Name: "k8s-pull", Scopes: []string{"read_registry"}, ExpiresAt: &exp}); err != nil || dep.ID != pat.ID {
		t.Fatalf("deploy token k8s-pull: id %d, want %d (%v)", dep.ID, pat.ID, err)
	}
	w.Write("root.token", rootToken)
	w.Write("tw.yaml", fmt.Sprintf(`gitlab: {url: %s, token_file: root.token}
state: sqlite://tw.db
key_file: tw.key
defaults: {lifetime: 90d, grace: 1h, adopt: wait}   # the token is adopted; "rotate now" below gives its sinks a secret
serve: {kinds: [group_access_token, project_access_token, deploy_token]}
tokens:
  - name: deploy
    description: pulls images
    project: acme/app
    scopes: [read_api]
    access_level: reporter
    deliver:
      - file: {path: app.env, format: dotenv, key: DEPLOY_TOKEN}
      - gitlab_variable: {project: acme/app, key: DEPLOY_TOKEN, masked: true}
`, w.URL))
	w.Load("tw.yaml")
	cfg, st := w.Cfg, w.Reopen()
	managing := w.Client(secret.New(rootToken))
	eng := w.Engine(managing, st, nil)
	d := daemon.New(daemon.Deps{Engine: eng, Store: st, GitLab: managing, Clock: clk, Config: cfg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h, err := web.NewServer(web.Options{Backend: d, Store: st, Password: secret.New(password), Clock: clk, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return d.Run(gctx) })
		g.Go(func() error { return h.Serve(gctx, ln) })
		done <- g.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	base = "http://" + ln.Addr().String()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("dashboard not ready within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, srv
}

func artifactDir(t *testing.T) string {
	dir := os.Getenv("TOKENWARDEN_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBrowser(t *testing.T) {
	exe := chromium(t)
	base, srv := liveSite(t)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	submit := func(what, sel string) {
		t.Helper()
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The dashboard sends a stranger to the login page; a wrong password is refused.
	run("open the dashboard", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("password")))
	if loc := location(); !strings.Contains(loc, "/login") {
		t.Fatalf("not sent to the login page: %s", loc)
	}
	run("type a wrong password", chromedp.SendKeys(chromedp.ID("password"), "not the password"))
	submit("submit the wrong password", "form.login button")
	if got := text("#login-error"); !strings.Contains(got, "Wrong password") {
		t.Fatalf("wrong password: page says %q", got)
	}

	// The right one shows the overview with the expiry timeline.
	run("type the password", chromedp.SendKeys(chromedp.ID("password"), password))
	submit("log in", "form.login button")
	run("see the timeline", chromedp.WaitVisible(chromedp.ID("timeline")))
	if got := text("#timeline-summary"); !strings.Contains(got, "1 rotation(s) are scheduled") {
		t.Errorf("timeline summary %q does not count the managed token's rotation", got)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(artifactDir(t), "dashboard-overview.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "dashboard.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// At phone width nothing makes the page scroll sideways (wide tables
	// scroll inside their own box).
	run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("timeline")))
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.documentElement.scrollWidth")); err != nil || w > 390 {
		t.Errorf("at 390px the overview is %dpx wide (%v)", w, err)
	}
	if phone, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(artifactDir(t), "dashboard-phone.png"), phone, 0o644)
	}
	run("back to desktop width", chromedp.EmulateViewport(1280, 900))

	// The kind filter keeps the deploy tokens; the deploy token's page is
	// its own, though an access token has its id.
	run("open the token table", chromedp.Navigate(base+"/tokens"), chromedp.WaitVisible(chromedp.ID("tokens")))
	run("filter deploy tokens named k8s", chromedp.SetValue(chromedp.ID("f-kind"), "deploy_token"), chromedp.SendKeys(chromedp.ID("f-q"), "k8s"))
	submit("apply the filters", ".filters button[type=submit]")
	run("see the filtered table", chromedp.WaitVisible(chromedp.ID("tokens")))
	if loc := location(); !strings.Contains(loc, "kind=deploy_token") {
		t.Errorf("the filters' URL %s lacks kind=deploy_token", loc)
	}
	if got := text("#tokens tbody"); !strings.Contains(got, "k8s-pull") || !strings.Contains(got, "deploy_token") || strings.Contains(got, "project_access_token") {
		t.Fatalf("token table (kind deploy_token, q k8s) shows %q, want only k8s-pull", got)
	}
	submit("open the deploy token", "#tokens tbody a")
	run("see the deploy token's page", chromedp.WaitVisible(chromedp.ID("findings-h")))
	var id int64
	for _, d := range srv.DeployTokens() {
		if d.Name == "k8s-pull" {
			id = d.ID
		}
	}
	if loc := location(); !strings.HasSuffix(loc, fmt.Sprintf("/tokens/deploy_token/%d", id)) {
		t.Errorf("the deploy token's page is at %s", loc)
	}
	if got := text("main"); !strings.Contains(got, "k8s-pull") || !strings.Contains(got, "deploy_token") || strings.Contains(got, "Rotate now") {
		t.Errorf("deploy token page: %q", got)
	}

	// The token table lists the managed token; its page has the rotate button.
	run("open the token table", chromedp.Navigate(base+"/tokens?state=managed"), chromedp.WaitVisible(chromedp.ID("tokens")))
	if got := text("#tokens tbody"); !strings.Contains(got, "deploy") || !strings.Contains(got, "acme/app") {
		t.Fatalf("token table (managed) shows %q, want deploy in acme/app", got)
	}
	submit("open the token", "#tokens tbody a")
	run("see the rotate button", chromedp.WaitVisible(chromedp.ID("rotate-now")))
	if got := text("main"); !strings.Contains(got, "No rotation recorded yet") {
		t.Fatalf("token page before rotation: history is not empty")
	}

	// Rotate now: the new rotation shows up in the history.
	submit("press rotate now", "#rotate-now")
	run("see the history", chromedp.WaitVisible(chromedp.ID("history")))
	if got := text(".flash"); !strings.Contains(got, "Rotated project/acme/app:deploy") {
		t.Errorf("after rotate now the page says %q", got)
	}
	hist := text("#history")
	if !strings.Contains(hist, "rot-") || !strings.Contains(hist, "verified") || !strings.Contains(hist, "delivered to") {
		t.Errorf("history after rotate now: %q, want a rotation verified and delivered", hist)
	}
	if got := text("main"); !strings.Contains(got, "DEPLOY_TOKEN") {
		t.Errorf("token page does not list the sinks: %q", got)
	}
	run("open the journal", chromedp.Navigate(base+"/journal"), chromedp.WaitVisible(chromedp.ID("journal")))
	if got := text("#journal tbody"); !strings.Contains(got, "project/acme/app:deploy") {
		t.Errorf("journal page: %q", got)
	}
}

// TestPostWithoutCSRFRefused drives the live site with a plain HTTP client:
// a logged-in POST without the CSRF token is refused and rotates nothing.
func TestPostWithoutCSRFRefused(t *testing.T) {
	base, srv := liveSite(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/login", url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}
	var id int64
	for _, tok := range srv.Tokens() {
		if tok.Name == "deploy" {
			id = tok.ID
		}
	}
	before := len(srv.Tokens())
	resp, err = c.PostForm(fmt.Sprintf("%s/tokens/%d/rotate", base, id), url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %s, want 403", resp.Status)
	}
	if after := len(srv.Tokens()); after != before {
		t.Errorf("a refused POST still minted %d token(s)", after-before)
	}
}
