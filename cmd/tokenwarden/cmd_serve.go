package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
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
			requests := metrics.NewRequests()
			rt, err := openRuntimeWith(ctx, &f, runtimeOptions{Log: log, OnResponse: requests.Observe})
			if err != nil {
				return err
			}
			defer rt.Close()
			// On a shared (PostgreSQL) state another daemon may lead: stand by.
			leader, err := daemon.Lead(ctx, rt.cfg.State, log)
			if err != nil {
				return lockError(err)
			}
			defer leader.Release()
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
			d := daemon.New(daemon.Deps{
				Engine: rt.engine, Store: rt.store, GitLab: rt.gitlab, Clock: rt.clock, Log: log, Config: cfg,
				LoadConfig: func() (*config.Config, error) {
					cfg, err := loadConfig(f.config)
					if err == nil {
						registerConfigSecrets(red, cfg)
					}
					return cfg, err
				},
				Notifier: notifier, Renewer: rt.renewer, Leading: leader.Leading(), Fence: leader.Lost(),
			})
			dashboard, err := web.NewServer(web.Options{
				Backend: redactingBackend{d: d, r: red}, Store: rt.store, Password: password, ReadOnly: readOnly || cfg.Serve.ReadOnly,
				Clock: rt.clock, Log: log, Metrics: metrics.Handler(ver, rev, append(d.Metrics(), requests)...), Version: ver, TrustedProxies: cfg.Serve.TrustedProxies,
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageError("listen on %s: %v", listen, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tokenwarden dashboard: http://%s/\n", ln.Addr())

			// Three peers: the daemon (idle while standing by), the
			// dashboard ("standing by" until the daemon leads) and the
			// lease (ends serve when the lock is lost).
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return d.Run(gctx) })
			g.Go(func() error { return dashboard.Serve(gctx, ln) })
			g.Go(func() error {
				err := leader.Run(gctx)
				if errors.Is(err, daemon.ErrLeadershipLost) {
					return withHint(err, "restart tokenwarden serve (a supervisor does it): it stands by or leads again")
				}
				return err
			})
			g.Go(func() error { return reloadOnHangup(gctx, d, log) })
			return g.Wait()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", config.DefaultListen, "address the dashboard listens on (default: serve.listen in the config)")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "dashboard shows everything but cannot rotate")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format on stderr: text or json")
	return cmd
}

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
