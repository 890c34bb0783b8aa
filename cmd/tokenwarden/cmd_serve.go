package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/metrics"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/web"
)

func newServeCmd() *cobra.Command {
	var (
		f         engineFlags
		listen    string
		readOnly  bool
		logFormat string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: rotate on schedule, scan periodically, serve the dashboard and /metrics",
		Long: `serve resumes unfinished rotations, then rotates every managed token when it
is due, rescans the instance every serve.scan_interval (default 1h), sends
notifications, and serves the web dashboard, /metrics, /healthz and /readyz.

The dashboard asks for the operator password: serve.password_env or
serve.password_file in the config, else $TOKENWARDEN_PASSWORD. API clients
(Prometheus) send it as "Authorization: Bearer <password>".

SIGHUP reloads the config; SIGINT/SIGTERM stop cleanly (a rotation in
progress finishes or stays parked in the journal and is resumed next start).`,
		Example: `  TOKENWARDEN_PASSWORD=… tokenwarden serve -c tokenwarden.yaml
  tokenwarden serve -c tokenwarden.yaml --listen :8484 --read-only --log-format json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			red := redactorFrom(cmd.Context())
			log, err := serveLogger(cmd.ErrOrStderr(), logFormat, red)
			if err != nil {
				return err
			}
			ver, rev := buildVersion()
			var d *daemon.Daemon
			m := metrics.New(sourceFunc(func() metrics.Snapshot { return d.Snapshot() }), ver, rev)
			rt, err := openRuntimeWith(ctx, &f, runtimeOptions{Log: log, OnResponse: m.Observe})
			if err != nil {
				return err
			}
			defer rt.Close()
			// On a shared (PostgreSQL) state another daemon may lead: stand by.
			leading := true
			if err := rt.lock(); err != nil {
				if !errors.Is(err, journal.ErrLocked) || !journal.IsPostgres(rt.cfg.State) {
					return err
				}
				leading = false
			}
			// The managing token, once, before any work: a dead one or one
			// without the scopes and role the config needs stops here.
			if _, err := rt.checkManaging(ctx, cmd.ErrOrStderr(), true); err != nil {
				return err
			}
			cfg := rt.cfg
			if !cmd.Flags().Changed("listen") {
				listen = cfg.Serve.Listen
			}
			password, err := operatorPassword(cfg)
			if err != nil {
				return err
			}
			red.Add(password)
			notifier, closeNotifier, err := openNotifier(ctx, cfg, rt, log)
			if err != nil {
				return err
			}
			defer closeNotifier()
			fence := make(chan struct{}) // closed when the state lock is lost
			d = daemon.New(daemon.Deps{
				Engine: rt.engine, Store: rt.store, GitLab: rt.gitlab, Clock: rt.clock, Log: log, Config: cfg,
				LoadConfig: func() (*config.Config, error) {
					cfg, err := loadConfig(f.config)
					if err == nil {
						registerConfigSecrets(red, cfg)
					}
					return cfg, err
				},
				Notifier: notifier, Metrics: m, Fence: fence, Renewer: rt.renewer,
			})
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageError("listen on %s: %v", listen, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tokenwarden dashboard: http://%s/\n", ln.Addr())
			if !leading {
				log.Info("standing by: another tokenwarden serve is the leader", "retry_every", standbyPoll.String())
				if err := standBy(ctx, ln, rt); err != nil || ctx.Err() != nil {
					return err
				}
				log.Info("leading: took the state lock; starting the daemon")
			}

			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error {
				return web.Serve(gctx, ln, d, web.Options{
					Backend: redactingBackend{d: d, r: red}, Store: rt.store, Password: password, ReadOnly: readOnly || cfg.Serve.ReadOnly,
					Clock: rt.clock, Log: log, Metrics: m.Handler(), Version: ver, TrustedProxies: cfg.Serve.TrustedProxies,
				})
			})
			g.Go(func() error { return reloadOnHangup(gctx, d, log) })
			g.Go(func() error { return stopIfLockLost(gctx, rt.lease, fence) })
			return g.Wait()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", config.DefaultListen, "address the dashboard listens on (default: serve.listen in the config)")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "dashboard shows everything but cannot rotate")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format on stderr: text or json")
	return cmd
}

// sourceFunc adapts a function to metrics.Source.
type sourceFunc func() metrics.Snapshot

func (f sourceFunc) Snapshot() metrics.Snapshot { return f() }

// serveLogger logs to w; every record is scrubbed of the process's secrets.
func serveLogger(w io.Writer, format string, red *secret.Redactor) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "text":
		return slog.New(secret.RedactingHandler(slog.NewTextHandler(w, opts), red)), nil
	case "json":
		return slog.New(secret.RedactingHandler(slog.NewJSONHandler(w, opts), red)), nil
	}
	return nil, usageError("--log-format must be text or json, not %q", format)
}

// operatorPassword is the dashboard password: serve.password_env or
// serve.password_file, else $TOKENWARDEN_PASSWORD.
func operatorPassword(cfg *config.Config) (secret.Secret, error) {
	env, file := cfg.Serve.PasswordEnv, cfg.Serve.PasswordFile
	if env == "" && file == "" {
		env = web.PasswordEnv
	}
	pw, err := config.LoadSecret(env, file)
	if err != nil {
		return secret.Secret{}, withHint(fmt.Errorf("dashboard password: %w", err),
			"set serve.password_env or serve.password_file in the config, or export "+web.PasswordEnv)
	}
	return pw, nil
}

// openNotifier builds the configured notification channels; the journal
// remembers what was sent (de-duplication).
func openNotifier(ctx context.Context, cfg *config.Config, rt *engineRuntime, log *slog.Logger) (daemon.Notifier, func(), error) {
	if len(cfg.Notify) == 0 {
		return nil, func() {}, nil
	}
	chans, err := notify.FromConfig(cfg.Notify, notify.ChannelOptions{Clock: rt.clock})
	if err != nil {
		return nil, nil, withHint(err, "each notify entry reads its secret from the named environment variable or file")
	}
	n := notify.New(chans, rt.store, rt.clock, log)
	return redactingNotifier{n: n, r: redactorFrom(ctx)}, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(cctx)
	}, nil
}

// standbyPoll is how often a daemon standing by tries to take the lock.
const standbyPoll = 5 * time.Second

// standBy serves /healthz ("ok") and a 503 "standing by" everywhere else
// (/readyz, the dashboard) on ln until this process holds the state lock,
// so that a load balancer sends operators to the leader. It returns nil once
// the lock is held or ctx ended, leaving ln open for the dashboard.
func standBy(ctx context.Context, ln net.Listener, rt *engineRuntime) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return fmt.Errorf("stand by: listener %T is not TCP", ln)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "standing by: another tokenwarden serve is the leader", http.StatusServiceUnavailable)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(lentListener{tl}) }()
	err := rt.waitLock(ctx, standbyPoll)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("stand by: http: %w", serr)
	}
	if ctx.Err() != nil {
		return nil
	}
	if derr := tl.SetDeadline(time.Time{}); err == nil && derr != nil {
		err = fmt.Errorf("stand by: %w", derr)
	}
	return err
}

// lentListener lends the listener to the stand-by server: its Close only
// stops Accept (a deadline in the past) and keeps the socket, so that the
// dashboard takes over the same address without a gap in which it is free.
type lentListener struct{ *net.TCPListener }

func (l lentListener) Close() error { return l.SetDeadline(time.Unix(1, 0)) }

// stopIfLockLost ends serve when the lease is lost (the PostgreSQL session
// holding it ended): another daemon may lead now, and two must never rotate.
func stopIfLockLost(ctx context.Context, lease *journal.Lease, fence chan<- struct{}) error {
	select {
	case <-ctx.Done():
		return nil
	case <-lease.Lost():
		// Stop rotating at once: another daemon may be resuming the same
		// rotation from the journal already.
		close(fence)
		return withHint(errors.New("lost the state lock: its PostgreSQL session ended, so another tokenwarden serve may lead now"),
			"restart tokenwarden serve (a supervisor does it): it stands by or leads again")
	}
}

// reloadOnHangup reloads the config on every SIGHUP until ctx ends.
func reloadOnHangup(ctx context.Context, d *daemon.Daemon, log *slog.Logger) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			log.Info("SIGHUP: reloading the config")
			d.Reload() // logs and keeps the old config on error
		}
	}
}
