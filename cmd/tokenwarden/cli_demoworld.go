package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

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
	name, kind, path string
	strategy         config.Strategy
	scopes           []string
	access           int
	expiresIn        int // days; 0: does not exist yet
}

var demoTokens = []demoManaged{
	{"deploy-registry-read", "project", "acme/infra/app", config.StrategyOverlap, []string{"read_registry", "read_api"}, 20, 5},
	{"release-bot", "group", "acme/infra", config.StrategyRotate, []string{"api"}, 40, 12},
	{"mirror-sync", "project", "acme/infra/app", config.StrategySelf, []string{"read_repository", "self_rotate"}, 30, 3},
	{"docs-preview", "project", "acme/infra/docs", config.StrategyOverlap, []string{"read_api"}, 20, 0},
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
	w.srv, err = sim.New(sim.Options{Clock: w.clock, RootToken: w.root.Reveal(), Seed: 42, Groups: 6, ProjectsPerGroup: 4, TokensPerProject: 2,
		DeployTokensPerProject: 1, TriggerTokensPerProject: 1, RunnersPerGroup: 1})
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	var gl http.Handler = w.srv
	if opts.gitlab != nil {
		gl = opts.gitlab(gl)
	}
	hs := &http.Server{Handler: gl, ReadHeaderTimeout: 10 * time.Second}
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
		log = slog.New(secret.RedactingHandler(slog.NewTextHandler(logW, &slog.HandlerOptions{Level: slog.LevelDebug}), redactorFrom(ctx)))
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
	docs, err := w.srv.CreateProject("docs", infra.ID)
	if err != nil {
		return err
	}
	// The docs pipeline still holds the secret of a token that expired ten
	// days ago: every job that calls the API fails. The config's
	// docs-preview delivers to this very variable, which fixes it.
	oldExp := now.AddDate(0, 0, -10).Truncate(24 * time.Hour)
	_, oldDocs, err := w.srv.CreateAccessToken("project", docs.ID, sim.TokenSpec{
		Name: "docs-preview-2025", Description: "docs previews (hand-made, expired)", Scopes: []string{"read_api"}, AccessLevel: 20,
		CreatedAt: oldExp.AddDate(0, 0, -90), ExpiresAt: &oldExp,
	})
	if err != nil {
		return err
	}
	w.secrets = append(w.secrets, secret.New(oldDocs))
	if err := w.srv.SetVariable("project", docs.ID, sim.Variable{Key: "DOCS_API_TOKEN", Value: oldDocs, Masked: true}); err != nil {
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
			Name: d.name, Description: "demo: " + string(d.strategy) + " strategy", Scopes: d.scopes, AccessLevel: d.access,
			CreatedAt: now.AddDate(0, 0, d.expiresIn-90), ExpiresAt: &exp,
		})
		if err != nil {
			return err
		}
		w.secrets = append(w.secrets, secret.New(sec))
		if d.strategy == config.StrategySelf {
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
serve:
  kinds: all                      # the dashboard and /metrics show every kind of credential
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
