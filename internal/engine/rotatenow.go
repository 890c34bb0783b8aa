package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
)

// ErrUnknownRef is returned by RotateNow for a ref that is not in the config.
var ErrUnknownRef = errors.New("not a managed token in the config")

// RotateNow rotates the managed token ref at once, as `tokenwarden rotate`
// and the dashboard's button ask. An unfinished rotation of ref is finished
// first: one waiting out its grace period has its old token revoked now (its
// new token is delivered and verified already), one stopped at an earlier
// step is resumed. Only when it is done does the requested rotation start,
// so the outcomes are the earlier rotation's (if any) and then the new one's.
// When the earlier rotation cannot finish, the requested one is not started
// and the error says why.
func (e *Engine) RotateNow(ctx context.Context, cfg *config.Config, ref string, opts RotateOptions) ([]Outcome, error) {
	i := slices.IndexFunc(cfg.Tokens, func(t config.Token) bool { return t.Ref() == ref })
	if i < 0 {
		return nil, fmt.Errorf("%s: %w", ref, ErrUnknownRef)
	}
	tok := cfg.Tokens[i]
	if opts.Strategy != "" && (opts.Strategy == config.StrategyReset) != tok.IsRunnerToken() {
		return nil, fmt.Errorf("%s: strategy %s is not possible for it (a runner token is only reset; reset is only for runner tokens)", ref, opts.Strategy)
	}
	var outs []Outcome
	unfinished, err := e.d.Store.Unfinished(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if j := slices.IndexFunc(unfinished, func(r *journal.Rotation) bool { return r.Ref == ref }); j >= 0 {
		r := unfinished[j]
		now := e.d.Clock.Now()
		if r.RevokeAfter != nil && now.Before(*r.RevokeAfter) {
			was := *r.RevokeAfter
			r.RevokeAfter = &now
			detail := fmt.Sprintf("grace period (until %s) cut short: a new rotation was asked for", was.UTC().Format(time.RFC3339))
			if err := e.d.Store.Update(ctx, r, detail); err != nil {
				return nil, fmt.Errorf("journal: %w", err)
			}
		}
		t := tok
		t.Strategy = strategyOf(r)
		o := e.drive(ctx, r, t)
		outs = append(outs, o)
		if o.Status != StatusDone {
			return outs, fmt.Errorf("%s: the unfinished rotation %s did not complete (%s), so no new rotation was started; fix that first (tokenwarden history %s)", ref, r.ID, o.Status, ref)
		}
	}
	cur, err := e.current(ctx, tok)
	if err != nil {
		return outs, fmt.Errorf("%s: %w", ref, err)
	}
	return append(outs, e.Start(ctx, tok, cur, opts)), nil
}
