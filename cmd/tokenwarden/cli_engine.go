package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/all"
)

// engineFlags are shared by plan, apply, rotate, history and serve.
type engineFlags struct {
	config  string
	keyFile string
	verbose bool
}

func (f *engineFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "tokenwarden.yaml", "config file")
	cmd.Flags().StringVar(&f.keyFile, "key-file", "", "age key that encrypts new secrets in the journal (default: $TOKENWARDEN_KEY_FILE, key_file in the config, or tokenwarden.key beside the database)")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "log every step (to stderr)")
}

// outputs are where a command with --format text|json writes: its result
// (the text, or the JSON document) to stdout, and what it says besides
// (warnings, questions, outcome lines) to msgs, which is stdout for text and
// stderr for JSON, so that stdout holds the JSON alone.
type outputs struct {
	format string // text or json
	json   bool
	stdout io.Writer
	msgs   io.Writer
}

// engineCommand completes cmd, one of the commands that work on a config
// and its journal (plan, apply, rotate, history): it registers the
// engineFlags and --format (text or json; formatHelp is its help), and
// makes run its RunE, called once --format is known to be text or json.
func engineCommand(cmd *cobra.Command, formatHelp string, run func(cmd *cobra.Command, args []string, f *engineFlags, o outputs) error) *cobra.Command {
	var f engineFlags
	var format string
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		asJSON, err := textOrJSON(format)
		if err != nil {
			return err
		}
		o := outputs{format: format, json: asJSON, stdout: cmd.OutOrStdout(), msgs: cmd.OutOrStdout()}
		if asJSON {
			o.msgs = cmd.ErrOrStderr()
		}
		return run(cmd, args, &f, o)
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", formatHelp)
	return cmd
}

// engineRuntime is everything a command needs to run the engine.
type engineRuntime struct {
	cfg    *config.Config
	store  journal.Store
	engine *engine.Engine
	gitlab *gitlab.Client
	clock  clock.Clock
	lease  *journal.Lease // the state lock, once held
	// renewer renews the managing token (gitlab.self_rotate); nil: off.
	renewer *managing.Renewer
}

func (r *engineRuntime) Close() error {
	if r.lease != nil {
		r.lease.Unlock()
	}
	return r.store.Close()
}

// lock makes this process the only one starting rotations on the state.
func (r *engineRuntime) lock() error {
	lease, err := journal.TryLock(context.Background(), r.cfg.State)
	if err != nil {
		return lockError(err)
	}
	r.lease = lease
	return nil
}

// lockError gives the hint for a state another process works on.
func lockError(err error) error {
	if errors.Is(err, journal.ErrLocked) {
		return withHint(err, "wait for the other run to finish (or stop `tokenwarden serve`, which rotates on its own schedule)")
	}
	return err
}

// loadConfig reads the config file and turns its problems into one error
// that lists each with file:line and hint.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err == nil {
		return cfg, nil
	}
	errs := config.Errors(err)
	if len(errs) == 0 {
		if errors.Is(err, os.ErrNotExist) {
			return nil, withHint(usageError("config file %s not found", path),
				"pass -c FILE; see the README for an example config")
		}
		return nil, usageError("%v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid config (%d problem", len(errs))
	if len(errs) > 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s", e.Error())
		if e.Hint != "" {
			fmt.Fprintf(&b, "\n    hint: %s", e.Hint)
		}
	}
	return nil, usageError("%s", b.String())
}

// openSealer opens the key that encrypts new secrets in the journal:
// --key-file, else $TOKENWARDEN_KEY_FILE, key_file in the config, or the
// embedded default (created on first use beside the SQLite database). A key
// the user named must exist: a typo must not silently start a new key.
func openSealer(flag string, cfg *config.Config) (secret.Sealer, error) {
	var s secret.Sealer
	var err error
	if flag != "" {
		s, err = secret.LoadKey(flag)
	} else {
		s, err = cfg.Sealer(os.Getenv)
	}
	return s, err // a *secret.KeyError carries its hint to main
}

func newLogger(w io.Writer, verbose bool, red *secret.Redactor) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(secret.RedactingHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}), red))
}

// runtimeOptions adjust how the runtime talks and logs.
type runtimeOptions struct {
	Log *slog.Logger
	// OnResponse is called for every GitLab response (metrics).
	OnResponse func(method string, code int)
}

// openRuntime loads the config, opens the journal and builds the engine.
func openRuntime(ctx context.Context, f *engineFlags, stderr io.Writer) (*engineRuntime, error) {
	return openRuntimeWith(ctx, f, runtimeOptions{Log: newLogger(stderr, f.verbose, redactorFrom(ctx))})
}

// openToWrite is openRuntime for the commands that change GitLab (apply,
// rotate): it also takes the state's lock and checks the managing token
// strictly, saying what it finds on w.
func openToWrite(ctx context.Context, f *engineFlags, stderr, w io.Writer) (*engineRuntime, managing.Status, error) {
	rt, err := openRuntime(ctx, f, stderr)
	if err != nil {
		return nil, managing.Status{}, err
	}
	if err := rt.lock(); err != nil {
		rt.Close()
		return nil, managing.Status{}, err
	}
	st, err := rt.checkManaging(ctx, w, true)
	if err != nil {
		rt.Close()
		return nil, managing.Status{}, err
	}
	return rt, st, nil
}

// openRuntimeWith is openRuntime with the caller's logger and hooks (serve).
func openRuntimeWith(ctx context.Context, f *engineFlags, opts runtimeOptions) (*engineRuntime, error) {
	cfg, err := loadConfig(f.config)
	if err != nil {
		return nil, err
	}
	clk, err := nowClock()
	if err != nil {
		return nil, usageError("%v", err)
	}
	sealer, err := openSealer(f.keyFile, cfg)
	if err != nil {
		return nil, err
	}
	return newRuntime(ctx, cfg, sealer, clk, opts)
}

// newRuntime opens the journal and builds the engine for cfg. The demo calls
// it with the emulator's clock. Every secret the runtime reads, mints or
// passes on is added to the process redactor, which scrubs what the journal
// records and what hooks print.
func newRuntime(ctx context.Context, cfg *config.Config, sealer secret.Sealer, clk clock.Clock, opts runtimeOptions) (*engineRuntime, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	red := redactorFrom(ctx)
	registerConfigSecrets(red, cfg)
	store, err := journal.Open(ctx, cfg.State, sealer, clk)
	if err != nil {
		return nil, err
	}
	store = journal.Redacting(store, red)
	var managing *gitlab.Client
	if cfg.GitLab.TokenEnv != "" || cfg.GitLab.TokenFile != "" {
		tok, err := cfg.GitLab.LoadToken()
		if err != nil {
			store.Close()
			return nil, withHint(err, fmt.Sprintf("the config (%s) names where the managing token is read from: gitlab.token_env or gitlab.token_file", cfg.Path))
		}
		if managing, err = gitlab.New(gitlab.Config{URL: cfg.GitLab.URL, Token: tok, Logger: log, OnResponse: opts.OnResponse, Timeout: cfg.GitLab.Timeout}); err != nil {
			store.Close()
			return nil, err
		}
	}
	clientFor := func(s secret.Secret) (*gitlab.Client, error) {
		red.Add(s)
		return gitlab.New(gitlab.Config{URL: cfg.GitLab.URL, Token: s, Logger: log, OnResponse: opts.OnResponse, Timeout: cfg.GitLab.Timeout})
	}
	sinks := func(t config.Token) ([]sink.Sink, error) {
		return all.NewAll(t.Deliver, all.Deps{GitLab: managing, Owner: t.Ref(), Redactor: red})
	}
	eng := engine.New(engine.Deps{
		GitLab: managing, ClientFor: clientFor, Store: store, Clock: clk, Log: log, Sinks: sinks,
		Concurrency: cfg.Concurrency,
	})
	rt := &engineRuntime{cfg: cfg, store: store, engine: eng, gitlab: managing, clock: clk}
	if cfg.GitLab.SelfRotate && managing != nil {
		rt.renewer = newRenewer(cfg, managing, store, clk, log, red)
		// Before anything else talks to GitLab: finish a renewal a crash
		// interrupted, or take the newest secret from the journal when
		// token_file holds a dead one.
		if err := rt.renewer.Recover(ctx); err != nil {
			store.Close()
			return nil, err
		}
	}
	return rt, nil
}
