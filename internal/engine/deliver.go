package engine

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// deliverAndVerify hands the new secret to every sink not yet served, then
// proves the secret works and that readable sinks hold it.
func (e *Engine) deliverAndVerify(ctx context.Context, r *journal.Rotation, tok config.Token) error {
	sinks, err := e.d.Sinks(tok)
	if err != nil {
		return e.fail(ctx, r, fmt.Errorf("sinks: %w", err)).Err
	}
	for _, s := range sinks {
		if slices.Contains(r.Delivered, s.ID()) {
			continue
		}
		meta := sink.Meta{TokenName: tok.Name}
		if r.NewExpiresAt != nil {
			meta.ExpiresAt = *r.NewExpiresAt
		}
		changed, err := s.Put(sink.WithMeta(ctx, meta), r.NewSecret)
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

	c, err := e.d.ClientFor(r.NewSecret)
	if err != nil {
		return err
	}
	method, path := http.MethodGet, "personal_access_tokens/self"
	if tok.Verify != nil && tok.Verify.Path != "" {
		path = tok.Verify.Path
		if tok.Verify.Method != "" {
			method = tok.Verify.Method
		}
	}
	if err := c.Probe(ctx, method, path); err != nil {
		if permanent(err) {
			return e.fail(ctx, r, fmt.Errorf("verify: the new token does not work: %w", err)).Err
		}
		return fmt.Errorf("verify: %w", err)
	}
	for _, s := range sinks {
		got, err := s.Get(ctx)
		if err != nil {
			continue // write-only sinks (exec, hidden variables) cannot be read back
		}
		if !got.Equal(r.NewSecret) {
			return e.fail(ctx, r, fmt.Errorf("verify: %s does not hold the new secret (changed by someone else?)", s.Describe())).Err
		}
	}
	detail := fmt.Sprintf("%s %s answered 2xx with the new token", method, path)
	if r.Strategy == "overlap" && r.OldTokenID != 0 {
		if r.RevokeAfter == nil { // a late sink does not extend the grace period
			after := e.d.Clock.Now().Add(tok.Grace)
			r.RevokeAfter = &after
		}
		detail += "; old token revoked after " + r.RevokeAfter.UTC().Format(time.RFC3339)
	}
	return e.commit(ctx, r, journal.StepVerified, detail)
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
func (e *Engine) retireOld(ctx context.Context, r *journal.Rotation) error {
	if r.Strategy != "overlap" || r.OldTokenID == 0 {
		detail := "nothing to revoke (new token)"
		if r.OldTokenID != 0 {
			detail = fmt.Sprintf("GitLab revoked old token %d when it rotated", r.OldTokenID)
		}
		return e.commit(ctx, r, journal.StepOldRevoked, detail)
	}
	if r.RevokeAfter != nil && e.d.Clock.Now().Before(*r.RevokeAfter) {
		return ErrWaiting
	}
	m, err := e.managing()
	if err != nil {
		return err
	}
	res, err := m.Resolve(ctx, r.ResourceType, r.ResourcePath)
	if err != nil {
		return err
	}
	gone, err := m.RevokeToken(ctx, res, r.OldTokenID)
	if err != nil {
		return fmt.Errorf("revoke old token %d: %w", r.OldTokenID, err)
	}
	detail := fmt.Sprintf("revoked old token %d", r.OldTokenID)
	if gone {
		detail = fmt.Sprintf("old token %d was already gone", r.OldTokenID)
	}
	return e.commit(ctx, r, journal.StepOldRevoked, detail)
}
