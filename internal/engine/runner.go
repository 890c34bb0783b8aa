package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// Runner tokens (kind: runner_token) are rotated by strategy reset: a
// runner has exactly one authentication token, and GitLab's only way to
// replace it, POST /runners/:id/reset_authentication_token, kills the old
// one at once (docs/gitlab-api.md, "Runners"; gitlabhq lib/api/ci/runners.rb
// and Ci::Runners::ResetAuthenticationTokenService). So a reset is like
// strategy rotate: the runner is cut off from the reset until it reads the
// new token, which gitlab-runner does by itself within seconds of its
// config.toml changing (it checks the file's modification time every few
// seconds, commands/multi.go checkConfig). Jobs already running are not
// affected: they talk to GitLab with their job tokens.
//
// The journal holds the new token (sealed) before any sink sees it, so a
// crash after the reset delivers it on resume. A reset whose answer was lost
// leaves a token nobody knows, and the runner is already cut off, so the
// resumed rotation simply resets again: nothing that works is lost, and
// exactly one token — the journaled one — is left alive.
//
// GitLab's REST API never shows a runner token's expiry; only the reset
// and verify answers carry it. A token that expires is renewed rotate_before
// its expiry. One that never expires (token_expires_at null: the instance
// sets no runner_token_expiration_interval, GitLab's default) is reset every
// lifetime: its "expiry" for the schedule is the last reset plus lifetime.

// mintRunner resets the runner's token. Before it does, every sink must be
// readable (or write-only): a reset that could not be delivered would leave
// the runner cut off.
func (e *Engine) mintRunner(ctx context.Context, tok config.Token) (minted, error) {
	m, err := e.managing()
	if err != nil {
		return minted{}, err
	}
	sinks, err := e.d.Sinks(tok)
	if err != nil {
		return minted{}, &refusal{fmt.Sprintf("sinks: %v", err)}
	}
	for _, s := range sinks {
		if _, err := s.Get(ctx); err != nil && !errors.Is(err, sink.ErrNotFound) && !errors.Is(err, sink.ErrNotReadable) {
			return minted{}, &refusal{fmt.Sprintf("runner %d's token was not reset (the reset would cut the runner off until delivery): %v", tok.Runner, err)}
		}
	}
	id := int64(tok.Runner)
	sec, exp, err := m.ResetRunnerToken(ctx, id)
	if err != nil {
		return minted{}, err
	}
	return minted{gitlab.Token{ID: id, Kind: gitlab.KindRunnerToken, ExpiresAt: exp, Active: true}, sec, "reset runner"}, nil
}

// verifyRunner checks sec with POST /runners/verify, as gitlab-runner does:
// GitLab must accept it as runner id's token.
func (e *Engine) verifyRunner(ctx context.Context, sec secret.Secret, id int64) error {
	m, err := e.managing()
	if err != nil {
		return err
	}
	got, _, err := m.VerifyRunnerToken(ctx, sec)
	if err != nil {
		return err
	}
	if got != id {
		return &refusal{fmt.Sprintf("POST /runners/verify: the token belongs to runner %d, not runner %d", got, id)}
	}
	return nil
}

// currentRunner is the runner of tok as GitLab shows it (ID is the
// runner's id); nil when it does not exist.
func (e *Engine) currentRunner(ctx context.Context, api *gitlab.Client, tok config.Token) (*gitlab.Token, error) {
	t, err := api.RunnerDetails(ctx, int64(tok.Runner))
	if gitlab.IsStatus(err, 404) {
		return nil, &refusal{fmt.Sprintf("runner %d does not exist (or the managing token cannot see it)", tok.Runner)}
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// runnerLive is what the schedule knows of a runner's token: its expiry
// from the newest reset tokenwarden made (rows newest first), or the end
// of its rotation interval when it never expires. Without a reset
// tokenwarden does not know the token at all (Live.ExpiresAt nil).
func runnerLive(cur *gitlab.Token, rows []*journal.Rotation, lifetime time.Duration) (live *schedule.Live, interval bool) {
	live = &schedule.Live{ID: cur.ID, CreatedAt: cur.CreatedAt}
	for _, r := range rows {
		if r.NewTokenID != cur.ID || r.Kind == journal.KindRevocation || r.Step == journal.StepPlanned {
			continue
		}
		if r.NewExpiresAt != nil {
			live.ExpiresAt = r.NewExpiresAt
			return live, false
		}
		obtained := r.StartedAt
		if r.FinishedAt != nil {
			obtained = *r.FinishedAt
		}
		due := obtained.Add(lifetime)
		live.CreatedAt, live.ExpiresAt = obtained, &due
		return live, true
	}
	return live, false
}

// runnerReason says a runner token's decision in a runner's terms.
func runnerReason(reason string, tok config.Token, live *schedule.Live, interval bool) string {
	if live.ExpiresAt == nil {
		return fmt.Sprintf("tokenwarden has not reset runner %d's token yet, so it does not know it (GitLab never shows it): reset it and deliver the new one", tok.Runner)
	}
	if interval {
		return strings.Replace(reason, fmt.Sprintf("token %d expires", live.ID),
			fmt.Sprintf("runner %d's token never expires; reset every %s, next by", live.ID, duration.Format(tok.Lifetime)), 1)
	}
	return strings.Replace(reason, fmt.Sprintf("token %d", live.ID), fmt.Sprintf("runner %d's token", live.ID), 1)
}
