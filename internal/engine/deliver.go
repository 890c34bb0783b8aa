package engine

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// deliverAndVerify proves the new secret works and hands it to every sink not
// yet served, then checks that readable sinks hold it.
//
// A token tokenwarden minted alongside the old one (overlap, creation) is
// verified before any consumer sees it: one that fails is revoked and never
// delivered, and the old token and every sink stay as they were. With rotate
// and self GitLab has already revoked the old token, so the new one is
// delivered whatever happens and a failed verification fails the rotation
// loudly afterwards. A delivery of a known live secret is verified first too,
// and never revokes anything.
func (e *Engine) deliverAndVerify(ctx context.Context, r *journal.Rotation, tok config.Token) error {
	sinks, err := e.d.Sinks(tok)
	if err != nil {
		return e.fail(ctx, r, fmt.Errorf("sinks: %w", err)).Err
	}
	if tok.IsDeployToken() && r.NewUsername == "" && r.NewTokenID != 0 {
		// Journaled before usernames were (journal migration 3): the new
		// token's username is GitLab's to tell, and no registry takes the
		// secret without it.
		h, err := e.holderOf(ctx, tok)
		if err != nil {
			return err
		}
		switch t, err := h.get(ctx, r.NewTokenID); {
		case err == nil:
			r.NewUsername = t.Username
		case !gitlab.IsNotFound(err): // a token gone is the verification's to judge
			return fmt.Errorf("read the username of deploy token %d: %w", r.NewTokenID, err)
		}
	}
	verifyFirst := r.Kind == journal.KindDelivery || strategyOf(r) == config.StrategyOverlap
	method, path := verifyRequest(tok)
	if verifyFirst && len(r.Delivered) == 0 && r.Step == journal.StepMinted {
		if err := e.probe(ctx, tok, r.NewSecret, r.NewTokenID); err != nil {
			if !permanent(err) {
				return fmt.Errorf("verify: %w", err)
			}
			return e.rejectNew(ctx, r, tok, err)
		}
	}
	for _, s := range sinks {
		if slices.Contains(r.Delivered, s.ID()) {
			continue
		}
		meta := sink.Meta{TokenName: tok.Name}
		if r.NewExpiresAt != nil {
			meta.ExpiresAt = *r.NewExpiresAt
		}
		unlock := e.dest.lock(s)
		changed, err := s.Put(sink.WithMeta(ctx, meta), credentialOf(r))
		unlock()
		if err != nil {
			return fmt.Errorf("deliver to %s: %w", s.Describe(), err)
		}
		r.Delivered = append(r.Delivered, s.ID())
		detail := "delivered to " + s.Describe()
		if !changed {
			detail += " (already up to date)"
		}
		if err := e.commit(ctx, r, journal.StepDelivered, detail); err != nil {
			return err
		}
	}
	if r.Step == journal.StepMinted { // no sinks configured
		if err := e.commit(ctx, r, journal.StepDelivered, "no sinks configured"); err != nil {
			return err
		}
	}

	if !verifyFirst {
		if err := e.probe(ctx, tok, r.NewSecret, r.NewTokenID); err != nil {
			if permanent(err) {
				return e.fail(ctx, r, fmt.Errorf("verify: the new token %d does not work (GitLab already revoked the old one, so it was delivered anyway): %w", r.NewTokenID, err)).Err
			}
			return fmt.Errorf("verify: %w", err)
		}
	}
	for _, s := range sinks {
		got, err := s.Get(ctx)
		if err != nil {
			continue // write-only sinks (exec, hidden variables) cannot be read back
		}
		if !sink.Holds(got, credentialOf(r)) {
			return e.fail(ctx, r, fmt.Errorf("verify: %s does not hold the new secret (changed by someone else?)", s.Describe())).Err
		}
	}
	detail := fmt.Sprintf("%s %s answered 2xx with the new token", method, path)
	if r.Kind == journal.KindDelivery {
		detail = fmt.Sprintf("%s %s answered 2xx with live token %d", method, path, r.NewTokenID)
	}
	if c, ok := checkerOf(tok); ok {
		detail = c.checked(r.NewTokenID)
	} else if tok.IsRunnerToken() {
		detail = fmt.Sprintf("POST /runners/verify accepted the new token as runner %d's", r.NewTokenID)
	}
	if strategyOf(r) == config.StrategyOverlap && r.OldTokenID != 0 {
		if r.RevokeAfter == nil { // a late sink does not extend the grace period
			after := e.d.Clock.Now().Add(tok.Grace)
			r.RevokeAfter = &after
		}
		detail += "; old token revoked after " + r.RevokeAfter.UTC().Format(time.RFC3339)
	}
	return e.commit(ctx, r, journal.StepVerified, detail)
}

// credentialOf is what r delivers: the new secret and, for a token that has
// one (a deploy token), its username.
func credentialOf(r *journal.Rotation) secret.Credential {
	return secret.Credential{Username: r.NewUsername, Token: r.NewSecret}
}

// verifyRequest is the request that proves a secret works: the token's
// configured verify, or GET personal_access_tokens/self.
func verifyRequest(tok config.Token) (method, path string) {
	method, path = http.MethodGet, "personal_access_tokens/self"
	if tok.Verify != nil && tok.Verify.Path != "" {
		path = tok.Verify.Path
		if tok.Verify.Method != "" {
			method = tok.Verify.Method
		}
	}
	return method, path
}

// probe sends tok's verify request with sec. A deploy or trigger token
// (token id) is checked through the managing token instead.
func (e *Engine) probe(ctx context.Context, tok config.Token, sec secret.Secret, id int64) error {
	if tok.IsRunnerToken() {
		return e.verifyRunner(ctx, sec, id)
	}
	if _, ok := checkerOf(tok); ok {
		h, err := e.holderOf(ctx, tok)
		if err != nil {
			return err
		}
		return h.(checker).check(ctx, sec, id, e.d.Clock.Now())
	}
	c, err := e.d.ClientFor(sec)
	if err != nil {
		return err
	}
	method, path := verifyRequest(tok)
	return c.Probe(ctx, method, path)
}

// rejectNew fails a rotation whose new secret did not pass verification
// before any sink saw it. A token tokenwarden minted is revoked, so that
// nothing that does not work stays alive; a delivery of the live token
// revokes nothing.
func (e *Engine) rejectNew(ctx context.Context, r *journal.Rotation, tok config.Token, verr error) error {
	if r.Kind == journal.KindDelivery {
		return e.fail(ctx, r, fmt.Errorf("verify: live token %d does not pass verification, so it was not delivered: %w", r.NewTokenID, verr)).Err
	}
	what := fmt.Sprintf("verify: the new token %d does not work: %v; it was never delivered", r.NewTokenID, verr)
	if r.OldTokenID != 0 {
		what += fmt.Sprintf(", and old token %d and every sink are unchanged", r.OldTokenID)
	}
	if tok.IsRunnerToken() {
		// A runner has one token and the reset already killed the old one:
		// there is nothing to revoke, and the next reset replaces this one.
		return e.fail(ctx, r, fmt.Errorf("verify: runner %d's new token does not pass POST /runners/verify: %v; it was never delivered: reset the runner again (tokenwarden rotate %s)", r.NewTokenID, verr, tok.Ref())).Err
	}
	h, err := e.holderOf(ctx, tok)
	if err == nil {
		_, err = h.revoke(ctx, r.NewTokenID)
	}
	if err != nil {
		// Revoking is retried by the next run only if the rotation stays
		// open; it fails here, so say exactly what is left to do.
		return e.fail(ctx, r, fmt.Errorf("%s; revoking it failed (%v): revoke token %d by hand", what, err, r.NewTokenID)).Err
	}
	return e.fail(ctx, r, fmt.Errorf("%s; it has been revoked", what)).Err
}

// undelivered reports whether a configured sink has not had r's secret yet.
// Sinks that cannot be built count as served here: deliverAndVerify reported
// that when it ran.
func (e *Engine) undelivered(r *journal.Rotation, tok config.Token) bool {
	sinks, err := e.d.Sinks(tok)
	if err != nil {
		return false
	}
	for _, s := range sinks {
		if !slices.Contains(r.Delivered, s.ID()) {
			return true
		}
	}
	return false
}

// retireOld revokes the old token (overlap, once grace has passed); rotate and
// self strategies had it revoked by GitLab at mint time.
func (e *Engine) retireOld(ctx context.Context, r *journal.Rotation, tok config.Token) error {
	if strategyOf(r) != config.StrategyOverlap || r.OldTokenID == 0 {
		detail := "nothing to revoke (new token)"
		if r.Kind == journal.KindDelivery {
			detail = "nothing to revoke (delivery of the live token)"
		}
		switch {
		case strategyOf(r) == config.StrategyReset:
			detail = fmt.Sprintf("the reset killed runner %d's old token at once", r.NewTokenID)
		case r.OldTokenID != 0:
			detail = fmt.Sprintf("GitLab revoked old token %d when it rotated", r.OldTokenID)
		}
		return e.commit(ctx, r, journal.StepOldRevoked, detail)
	}
	if r.RevokeAfter != nil && e.d.Clock.Now().Before(*r.RevokeAfter) {
		return ErrWaiting
	}
	h, err := e.holderOf(ctx, tok)
	if err != nil {
		return err
	}
	gone, err := h.revoke(ctx, r.OldTokenID)
	if err != nil {
		return fmt.Errorf("revoke old token %d: %w", r.OldTokenID, err)
	}
	detail := fmt.Sprintf("revoked old token %d", r.OldTokenID)
	if gone {
		detail = fmt.Sprintf("old token %d was already gone", r.OldTokenID)
	}
	return e.commit(ctx, r, journal.StepOldRevoked, detail)
}
