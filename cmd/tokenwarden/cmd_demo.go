package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/metrics"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/web"
)

func newDemoCmd() *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story against an embedded, emulated GitLab (no GitLab, no flags, no network needed)",
		Args:  noArgs,
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
	// gitlab, when set, wraps the emulator's handler (tests).
	gitlab func(http.Handler) http.Handler
	// serving, when set, is called as --serve starts the daemon (tests).
	serving func()
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

	vars, err := demoVariables(ctx, w)
	if err != nil {
		return err
	}
	p("\nCI/CD variables holding GitLab tokens (`tokenwarden scan --variables`):\n")
	writeDemoVariables(out, vars, "DOCS_API_TOKEN")

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

	p("\nThe dead token in DOCS_API_TOKEN is fixed: the variable is one of docs-preview's sinks.\n")
	if vars, err = demoVariables(ctx, w); err != nil {
		return err
	}
	writeDemoVariables(out, vars, "DOCS_API_TOKEN")

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
		return serveDemo(ctx, out, w, opts)
	}
	return nil
}

// serveDemo keeps the dashboard up on the demo's data until interrupted:
// the daemon goes on rotating on the demo's (now live) clock.
func serveDemo(ctx context.Context, out io.Writer, w *demoWorld, opts demoOptions) error {
	ln, err := net.Listen("tcp", "127.0.0.1:8484")
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
	}
	ver, rev := buildVersion()
	d := daemon.New(daemon.Deps{
		Engine: w.rt.engine, Store: w.rt.store, GitLab: w.rt.gitlab, Clock: w.clock, Config: w.cfg,
	})
	password := web.GeneratePassword()
	if opts.serving != nil {
		opts.serving()
	}
	fmt.Fprintf(out, "\nStarting the dashboard: waiting for the daemon's first scan…\n")
	dashboard, err := web.NewServer(web.Options{Backend: d, Store: w.rt.store, Password: password, Clock: w.clock, Metrics: metrics.Handler(ver, rev, d.Metrics()...), Version: ver})
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return d.Run(gctx) })
		g.Go(func() error { return dashboard.Serve(gctx, ln) })
		served <- g.Wait()
	}()
	// The URL is printed once /readyz answers: a dashboard opened before the
	// first scan would show no tokens.
	notReady, err := waitReady(ctx, "http://"+ln.Addr().String()+"/readyz", d.Ready, served)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fmt.Fprintf(out, "\nDashboard: http://%s/  (password for this demo only: %s)\n", ln.Addr(), password.Reveal())
	if notReady != "" {
		fmt.Fprintf(out, "The first scan is done, but /readyz says: %s\n", notReady)
	}
	fmt.Fprintf(out, "Metrics:   http://%s/metrics  (send the password as Authorization: Bearer …)\n", ln.Addr())
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	err = <-served
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// waitReady polls url until it answers 200, or until scanned reports the
// first scan done while url still says why it is not ready (returned). It
// returns early with the server's error when served delivers one (the
// server ended), or with ctx's error.
func waitReady(ctx context.Context, url string, scanned func() bool, served <-chan error) (string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	pause := 20 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		// Asked before the request: a 503 after the scan is for another reason.
		wasScanned := scanned()
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "", nil
			}
			if wasScanned {
				return strings.TrimSpace(string(body)), nil
			}
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			<-served
			return "", ctx.Err()
		case err := <-served:
			t.Stop()
			if err == nil {
				err = errors.New("the dashboard stopped before it was ready")
			}
			return "", err
		case <-t.C:
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}
