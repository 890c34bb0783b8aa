package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/all"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// checkManaging asks GitLab once about the managing token: a warning line
// goes to w when it expires soon; an error comes back when GitLab rejects
// it or, with strict, when its scopes or role fall short of what cfg asks
// (before any work starts).
func checkManaging(ctx context.Context, c *gitlab.Client, cfg *config.Config, now time.Time, w io.Writer, strict bool) (managing.Status, error) {
	st, err := managing.Check(ctx, c, cfg, now)
	if err != nil {
		return st, err
	}
	if msg := st.Warning(); msg != "" && st.Level != managing.LevelExpired {
		fmt.Fprintf(w, "! %s\n\n", msg)
	}
	if st.Level == managing.LevelExpired || strict {
		if err := st.Err(); err != nil {
			return st, managingError(err)
		}
	}
	return st, nil
}

// managingError turns a managing.Error into a CLI error with its hint.
func managingError(err error) error {
	if me, ok := err.(*managing.Error); ok && me.Hint != "" {
		return withHint(err, me.Hint)
	}
	return err
}

// checkManaging checks the runtime's managing token (see checkManaging).
func (r *engineRuntime) checkManaging(ctx context.Context, w io.Writer, strict bool) (managing.Status, error) {
	if r.gitlab == nil {
		return managing.Status{}, nil
	}
	return checkManaging(ctx, r.gitlab, r.cfg, r.clock.Now(), w, strict)
}

// newRenewer builds the managing token's renewer (gitlab.self_rotate):
// gitlab.deliver's sinks share the managing client, like managed tokens'.
func newRenewer(cfg *config.Config, c *gitlab.Client, store journal.Store, clk clock.Clock, log *slog.Logger, red *secret.Redactor) *managing.Renewer {
	return &managing.Renewer{
		Client: c, Store: store, Clock: clk, Log: log, Config: cfg,
		Sinks: func(ds []config.Sink) ([]sink.Sink, error) {
			return all.NewAll(ds, all.Deps{GitLab: c, Owner: managing.Ref, Redactor: red})
		},
	}
}

// renewManaging renews the managing token when gitlab.self_rotate is on and
// it is inside its renewal window (the same rule as managed tokens); dryRun
// only says so. It writes one line to w when there is something to say.
func (r *engineRuntime) renewManaging(ctx context.Context, st managing.Status, w io.Writer, dryRun bool) (managing.Status, error) {
	if r.renewer == nil {
		return st, nil
	}
	at, ok := managing.RenewAt(r.cfg, st)
	now := r.clock.Now()
	if !ok || now.Before(at) {
		return st, nil
	}
	exp := st.Token.ExpiresAt.Format(time.DateOnly)
	if dryRun {
		fmt.Fprintf(w, "~ renew   %s  self  token %d expires %s; renewal due since %s (apply renews it, gitlab.self_rotate)\n\n",
			managing.Ref, st.Token.ID, exp, at.UTC().Format("2006-01-02 15:04 UTC"))
		return st, nil
	}
	rot, err := r.renewer.Renew(ctx, st, fmt.Sprintf("expires %s; renewal due since %s", exp, at.UTC().Format(time.RFC3339)))
	if err != nil {
		return st, withHint(fmt.Errorf("renew the managing token: %w", err), "tokenwarden resumes the renewal at its next start (`tokenwarden apply` or `serve`); `tokenwarden history "+managing.Ref+" -c CONFIG` shows its steps")
	}
	newExp := "never"
	if rot.NewExpiresAt != nil {
		newExp = rot.NewExpiresAt.Format(time.DateOnly)
	}
	fmt.Fprintf(w, "✓ renewed tokenwarden's own token: token %d replaced by token %d (expires %s), written to %s\n\n",
		rot.OldTokenID, rot.NewTokenID, newExp, r.cfg.GitLab.TokenFile)
	return managing.Check(ctx, r.gitlab, r.cfg, now)
}
