package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/metrics"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/web"
)

func newDemoCmd() *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story against an embedded, emulated GitLab (no GitLab, no flags, no network needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stderr = cmd.ErrOrStderr()
			return runDemo(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.keep, "keep", false, "keep the demo's directory (config, journal, delivered files) afterwards")
	cmd.Flags().BoolVarP(&opts.verbose, "verbose", "v", false, "log every engine step (debug level) to stderr")
	cmd.Flags().BoolVar(&opts.serve, "serve", false, "keep the dashboard up on the demo data afterwards")
	return cmd
}

type demoOptions struct {
	keep, verbose, serve bool
	stderr               io.Writer
	// log, when set, receives the engine's debug log (tests collect it).
	log io.Writer
	// inspect, when set, is called at the end with the demo's world (tests).
	inspect func(*demoWorld)
}

// demoClock is the demo's time: the wall clock plus an offset the demo moves
// forward to show what happens later, so that `demo --serve` keeps running on
// live time afterwards.
type demoClock interface {
	clock.Clock
	Advance(time.Duration)
	Set(time.Time)
}

// demoWorld is what the demo built: an emulated GitLab on a movable clock, a
// config in a scratch directory, and the engine working on them.
type demoWorld struct {
	dir     string
	srv     *sim.Server
	url     string
	clock   demoClock
	cfg     *config.Config
	rt      *engineRuntime
	root    secret.Secret
	secrets []secret.Secret // every token secret the demo itself created
	sealer  secret.Sealer
}

// demoManaged are the tokens the demo's config manages: one per strategy,
// plus one that does not exist yet.
type demoManaged struct {
	name, kind, path, strategy string
	scopes                     []string
	access                     int
	expiresIn                  int // days; 0: does not exist yet
}

var demoTokens = []demoManaged{
	{"deploy-registry-read", "project", "acme/infra/app", "overlap", []string{"read_registry", "read_api"}, 20, 5},
	{"release-bot", "group", "acme/infra", "rotate", []string{"api"}, 40, 12},
	{"mirror-sync", "project", "acme/infra/app", "self", []string{"read_repository", "self_rotate"}, 30, 3},
	{"docs-preview", "project", "acme/infra/docs", "overlap", []string{"read_api"}, 20, 0},
}

func runDemo(ctx context.Context, out io.Writer, opts demoOptions) (err error) {
	w, cleanup, err := startDemoWorld(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if opts.inspect != nil {
			opts.inspect(w)
		}
		cleanup()
		if opts.keep {
			fmt.Fprintf(out, "\nThe demo's files are kept in %s\n", w.dir)
		}
	}()
	p := func(format string, a ...any) { fmt.Fprintf(out, format, a...) }
	step := func(n int, title string) {
		p("\n── %d. %s %s\n\n", n, title, strings.Repeat("─", max(0, 66-utf8.RuneCountInString(title))))
	}

	st := w.srv.Stats()
	p("tokenwarden demo: an emulated GitLab is running at %s\n", w.url)
	p("(%d groups, %d projects, %d group and project access tokens; seeded, on a clock the demo can move).\n", st.Groups, st.Projects, st.GroupTokens+st.ProjectTokens)
	p("Nothing here touches a real GitLab. Config, journal and delivered files live in %s.\n", w.dir)

	// 1. scan
	step(1, "scan: every token and what is risky about it")
	rep, err := inventory.Scan(ctx, w.rt.gitlab, inventory.Options{})
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	res := evaluateScan(rep, w.clock.Now(), policy.DefaultThresholds())
	top := res
	const show = 8
	if len(top.Rows) > show {
		top.Rows = top.Rows[:show]
	}
	if err := writeScanTable(out, top); err != nil {
		return err
	}
	if len(res.Rows) > show {
		p("(the %d most urgent of %d tokens; `tokenwarden scan` lists them all)\n", show, len(res.Rows))
	}

	// 2. plan
	step(2, "plan: what the config asks for ("+filepath.Base(w.cfg.Path)+")")
	plan, err := w.rt.engine.Plan(ctx, w.cfg)
	if err != nil {
		return err
	}
	writePlanText(out, plan)

	// 3. apply
	step(3, "apply: mint → deliver → verify → revoke the old token")
	outs, err := w.rt.engine.Apply(ctx, w.cfg, plan)
	if err != nil {
		return err
	}
	for _, o := range outs {
		writeOutcome(out, o)
	}
	p("\nDelivered to:\n")
	for _, tok := range w.cfg.Tokens {
		sinks, err := w.rt.engine.Sinks(tok)
		if err != nil {
			return err
		}
		for _, s := range sinks {
			p("  %-22s → %s\n", tok.Name, s.Describe())
		}
	}

	// 4. grace
	step(4, "an hour later: the overlap grace period ends")
	w.clock.Advance(time.Hour + time.Minute)
	p("(clock moved to %s)\n", w.clock.Now().UTC().Format("2006-01-02 15:04 UTC"))
	if outs, err = w.rt.engine.Resume(ctx, w.cfg); err != nil {
		return err
	}
	for _, o := range outs {
		writeOutcome(out, o)
	}

	// 5. scheduled re-rotation
	plan, err = w.rt.engine.Plan(ctx, w.cfg)
	if err != nil {
		return err
	}
	next := time.Time{}
	for _, it := range plan.Items {
		if it.RenewAt != nil && it.RenewAt.After(w.clock.Now()) && (next.IsZero() || it.RenewAt.Before(next)) {
			next = *it.RenewAt
		}
	}
	if next.IsZero() {
		return errors.New("demo: no rotation scheduled after apply")
	}
	step(5, "weeks later: the next rotation falls due")
	w.clock.Set(next)
	p("(clock moved to %s, the earliest scheduled RenewAt)\n\n", next.UTC().Format("2006-01-02 15:04 UTC"))
	plan, err = w.rt.engine.Plan(ctx, w.cfg)
	if err != nil {
		return err
	}
	writePlanText(out, plan)
	p("\n")
	if outs, err = w.rt.engine.Apply(ctx, w.cfg, plan); err != nil {
		return err
	}
	for _, o := range outs {
		writeOutcome(out, o)
	}
	w.clock.Advance(time.Hour + time.Minute)
	if outs, err = w.rt.engine.Resume(ctx, w.cfg); err != nil {
		return err
	}
	for _, o := range outs {
		p("an hour later: ")
		writeOutcome(out, o)
	}

	// 6. report
	step(6, "what happened")
	rots, err := w.rt.store.List(ctx, journal.Filter{})
	if err != nil {
		return err
	}
	var done, failed int
	for _, r := range rots {
		switch r.Step {
		case journal.StepDone:
			done++
		case journal.StepFailed:
			failed++
		}
	}
	p("Found %d tokens: %d critical and %d warning findings.\n", res.Summary.Tokens, res.Summary.Critical, res.Summary.Warning)
	p("Journal: %d rotations done, %d failed, %d in progress; every step is committed before the next,\n", done, failed, len(rots)-done-failed)
	p("so a crash at any point resumes without minting twice. New secrets are stored encrypted (age).\n")
	p("No secret was printed: delivered values went only to the CI/CD variables and files above.\n")
	p("\nTry next:\n")
	p("  tokenwarden sim --listen 127.0.0.1:8080 --root-token glpat-… --seed 1 --groups 10   # the emulator on its own\n")
	p("  GITLAB_URL=http://127.0.0.1:8080 GITLAB_TOKEN=glpat-… tokenwarden scan --fail-on critical\n")
	p("  tokenwarden doctor --env GITLAB_TOKEN --need read_api --project acme/infra/app\n")
	p("  tokenwarden plan -c tokenwarden.yaml   # with your own config (see the README)\n")
	if opts.serve {
		return serveDemo(ctx, out, w)
	}
	return nil
}

// startDemoWorld starts the emulator on a loopback port, creates the demo's
// tokens, writes the config and opens the engine.
func startDemoWorld(ctx context.Context, opts demoOptions) (*demoWorld, func(), error) {
	dir, err := os.MkdirTemp("", "tokenwarden-demo-")
	if err != nil {
		return nil, nil, err
	}
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		if !opts.keep {
			os.RemoveAll(dir)
		}
	}
	fail := func(err error) (*demoWorld, func(), error) { cleanup(); return nil, nil, fmt.Errorf("demo: %w", err) }

	now := time.Now().UTC().Truncate(time.Second)
	w := &demoWorld{dir: dir, clock: &sim.LiveClock{}, root: secret.New(randomToken())}
	w.srv, err = sim.New(sim.Options{Clock: w.clock, RootToken: w.root.Reveal(), Seed: 42, Groups: 6, ProjectsPerGroup: 4, TokensPerProject: 2})
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	hs := &http.Server{Handler: w.srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	closers = append(closers, func() { hs.Close() })
	w.url = "http://" + ln.Addr().String()

	if err := w.seedManaged(now); err != nil {
		return fail(err)
	}
	cfgPath := filepath.Join(dir, "tokenwarden.yaml")
	if err := os.WriteFile(cfgPath, []byte(demoConfig(w.url)), 0o600); err != nil {
		return fail(err)
	}
	if w.cfg, err = loadConfig(cfgPath); err != nil {
		return fail(err)
	}
	if w.sealer, err = w.cfg.Sealer(func(string) string { return "" }); err != nil {
		return fail(err)
	}
	logW := opts.log
	if logW == nil && opts.verbose {
		logW = opts.stderr
	}
	var log *slog.Logger
	if logW != nil {
		log = slog.New(slog.NewTextHandler(logW, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if w.rt, err = newRuntime(ctx, w.cfg, w.sealer, w.clock, runtimeOptions{Log: log}); err != nil {
		return fail(err)
	}
	closers = append(closers, func() { w.rt.Close() })
	return w, cleanup, nil
}

// seedManaged creates the groups, projects and existing tokens the demo's
// config manages, and writes the secrets consumers hold today into files.
func (w *demoWorld) seedManaged(now time.Time) error {
	acme, err := w.srv.CreateGroup("acme", 0)
	if err != nil {
		return err
	}
	infra, err := w.srv.CreateGroup("infra", acme.ID)
	if err != nil {
		return err
	}
	app, err := w.srv.CreateProject("app", infra.ID)
	if err != nil {
		return err
	}
	if _, err := w.srv.CreateProject("docs", infra.ID); err != nil {
		return err
	}
	ids := map[string]int64{"acme/infra": infra.ID, "acme/infra/app": app.ID}
	w.secrets = append(w.secrets, w.root)
	for _, d := range demoTokens {
		if d.expiresIn == 0 {
			continue
		}
		exp := now.AddDate(0, 0, d.expiresIn).Truncate(24 * time.Hour)
		_, sec, err := w.srv.CreateAccessToken(d.kind, ids[d.path], sim.TokenSpec{
			Name: d.name, Description: "demo: " + d.strategy + " strategy", Scopes: d.scopes, AccessLevel: d.access,
			CreatedAt: now.AddDate(0, 0, d.expiresIn-90), ExpiresAt: &exp,
		})
		if err != nil {
			return err
		}
		w.secrets = append(w.secrets, secret.New(sec))
		if d.strategy == "self" {
			// The consumer's copy, which is also where tokenwarden reads the
			// token's current secret from to let it rotate itself.
			if err := os.WriteFile(filepath.Join(w.dir, "mirror.token"), []byte(sec+"\n"), 0o600); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(w.dir, "root.token"), []byte(w.root.Reveal()+"\n"), 0o600)
}

func demoConfig(url string) string {
	return fmt.Sprintf(`# Written by tokenwarden demo. The managing token is the emulator's
# administrator, read from root.token (never inline in this file).
gitlab:
  url: %s
  token_file: root.token
state: sqlite://tokenwarden.db     # the journal; its age key is created beside it
defaults:
  lifetime: 90d
  strategy: overlap
  grace: 1h
tokens:
  - name: deploy-registry-read
    description: pulls images for the prod cluster
    project: acme/infra/app
    scopes: [read_registry, read_api]
    access_level: reporter
    deliver:
      - gitlab_variable: {project: acme/infra/app, key: REGISTRY_TOKEN, masked: true, protected: true}
      - file: {path: registry.env, format: dotenv, key: REGISTRY_TOKEN}
    verify: {method: GET, path: /projects/acme%%2Finfra%%2Fapp}
  - name: release-bot
    description: tags releases from CI
    group: acme/infra
    scopes: [api]
    access_level: maintainer
    strategy: rotate
    deliver:
      - gitlab_variable: {group: acme/infra, key: RELEASE_TOKEN, masked: true}
      - file: {path: release.json, format: json, key: gitlab.token}
  - name: mirror-sync
    description: mirrors the repository to the backup site
    project: acme/infra/app
    scopes: [read_repository, self_rotate]
    access_level: developer
    strategy: self
    token_file: mirror.token
    deliver:
      - file: {path: mirror.token, format: raw}
  - name: docs-preview
    description: reads the API for docs previews
    project: acme/infra/docs
    scopes: [read_api]
    access_level: reporter
    lifetime: 30d
    deliver:
      - gitlab_variable: {project: acme/infra/docs, key: DOCS_API_TOKEN, masked: true}
`, url)
}

func randomToken() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "glpat-" + hex.EncodeToString(b)
}

// serveDemo keeps the dashboard up on the demo's data until interrupted:
// the daemon goes on rotating on the demo's (now live) clock.
func serveDemo(ctx context.Context, out io.Writer, w *demoWorld) error {
	ln, err := net.Listen("tcp", "127.0.0.1:8484")
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
	}
	ver, rev := buildVersion()
	var d *daemon.Daemon
	m := metrics.New(sourceFunc(func() metrics.Snapshot { return d.Snapshot() }), ver, rev)
	d = daemon.New(daemon.Deps{
		Engine: w.rt.engine, Store: w.rt.store, GitLab: w.rt.gitlab, Clock: w.clock, Config: w.cfg, Metrics: m,
	})
	password := web.GeneratePassword()
	fmt.Fprintf(out, "\nDashboard: http://%s/  (password for this demo only: %s)\n", ln.Addr(), password.Reveal())
	fmt.Fprintf(out, "Metrics:   http://%s/metrics  (send the password as Authorization: Bearer …)\n", ln.Addr())
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	err = web.Serve(ctx, ln, d, web.Options{Store: w.rt.store, Password: password, Clock: w.clock, Metrics: m.Handler(), Version: ver})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
