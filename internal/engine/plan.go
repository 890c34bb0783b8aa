package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
)

// Action is what apply would do for one configured token.
type Action string

const (
	ActionCreate Action = "create" // no active token by that name: mint one
	ActionRotate Action = "rotate" // due for renewal
	ActionResume Action = "resume" // an unfinished rotation is carried on
	ActionNone   Action = "none"   // healthy; next rotation at RenewAt
	ActionError  Action = "error"  // could not be evaluated (see Reason)
)

// Item is one line of a plan.
type Item struct {
	Ref        string        `json:"ref"`
	Action     Action        `json:"action"`
	Strategy   string        `json:"strategy"`
	Reason     string        `json:"reason"`
	Current    *gitlab.Token `json:"current,omitempty"`
	RenewAt    *time.Time    `json:"renew_at,omitempty"`
	RotationID string        `json:"rotation_id,omitempty"`
	// Warning says the token needs a person: its last rotation failed (the
	// tokens it left behind are named), whatever the action.
	Warning string       `json:"warning,omitempty"`
	Deliver []string     `json:"deliver"`
	Token   config.Token `json:"-"`
}

// Plan is what apply would do, token by token, in config order.
type Plan struct {
	At    time.Time `json:"at"`
	Items []Item    `json:"items"`
}

// Changes counts the items that would change something.
func (p *Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Action == ActionCreate || it.Action == ActionRotate || it.Action == ActionResume {
			n++
		}
	}
	return n
}

// Plan works out what apply would do. It only reads.
func (e *Engine) Plan(ctx context.Context, cfg *config.Config) (*Plan, error) {
	now := e.d.Clock.Now()
	unfinished, err := e.d.Store.Unfinished(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	p := &Plan{At: now}
	for _, tok := range cfg.Tokens {
		it := Item{Ref: tok.Ref(), Strategy: tok.Strategy, Token: tok}
		if sinks, err := e.d.Sinks(tok); err == nil {
			for _, s := range sinks {
				it.Deliver = append(it.Deliver, s.Describe())
			}
		}
		if i := slices.IndexFunc(unfinished, func(r *journal.Rotation) bool { return r.Ref == tok.Ref() }); i >= 0 {
			r := unfinished[i]
			it.Action, it.RotationID = ActionResume, r.ID
			it.Reason = fmt.Sprintf("rotation %s stopped at step %q", r.ID, r.Step)
			if r.Step == journal.StepVerified && r.RevokeAfter != nil && now.Before(*r.RevokeAfter) {
				it.Reason = fmt.Sprintf("rotation %s: old token %d is revoked after %s (grace)", r.ID, r.OldTokenID, r.RevokeAfter.UTC().Format(time.RFC3339))
			}
			p.Items = append(p.Items, it)
			continue
		}
		if it.Warning, err = e.lastFailure(ctx, tok.Ref()); err != nil {
			return nil, err
		}
		cur, err := e.current(ctx, tok)
		if err != nil {
			it.Action, it.Reason = ActionError, err.Error()
			p.Items = append(p.Items, it)
			continue
		}
		if cur == nil {
			it.Action = ActionCreate
			it.Reason = fmt.Sprintf("no active token named %q in %s", tok.Name, resourceName(tok))
			p.Items = append(p.Items, it)
			continue
		}
		it.Current = cur
		renew, expires := schedule.RenewAt(cur.CreatedAt, cur.ExpiresAt, schedule.Policy{Lifetime: tok.Lifetime, RotateBefore: tok.RotateBefore})
		if !expires {
			it.Action = ActionRotate
			it.Reason = fmt.Sprintf("token %d never expires; replace it with one that does", cur.ID)
		} else {
			it.RenewAt = &renew
			if !now.Before(renew) {
				it.Action = ActionRotate
				it.Reason = fmt.Sprintf("token %d expires %s; due for renewal since %s", cur.ID, cur.ExpiresAt.Format(time.DateOnly), renew.UTC().Format(time.RFC3339))
			} else {
				it.Action = ActionNone
				it.Reason = fmt.Sprintf("token %d expires %s; next rotation %s", cur.ID, cur.ExpiresAt.Format(time.DateOnly), renew.UTC().Format(time.RFC3339))
			}
		}
		p.Items = append(p.Items, it)
	}
	return p, nil
}

func resourceName(tok config.Token) string {
	if tok.Group != "" {
		return "group " + tok.Group
	}
	return "project " + tok.Project
}

// current is the configured token's live GitLab token: the newest active one
// with its name, or nil when there is none.
func (e *Engine) current(ctx context.Context, tok config.Token) (*gitlab.Token, error) {
	api := e.d.GitLab
	if api == nil && tok.Strategy == "self" {
		sec, err := e.currentSecret(ctx, tok)
		if err != nil {
			return nil, err
		}
		if api, err = e.d.ClientFor(sec); err != nil {
			return nil, err
		}
	}
	if api == nil {
		return nil, errors.New("no managing GitLab token configured (gitlab.token_env)")
	}
	res, err := e.resource(ctx, api, tok)
	if err != nil {
		return nil, err
	}
	list, err := api.TokensNamed(ctx, res, tok.Name)
	if err != nil {
		return nil, err
	}
	now := e.d.Clock.Now()
	for _, t := range slices.Backward(list) {
		if t.Active && !t.Revoked && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt)) {
			return &t, nil
		}
	}
	return nil, nil
}

// RotateOptions adjust a manual rotation.
type RotateOptions struct {
	Strategy  string        // "" → the token's configured strategy
	ExpiresIn time.Duration // 0 → the token's lifetime
	Reason    string
}

// Start journals a new rotation of tok and drives it as far as it can go.
func (e *Engine) Start(ctx context.Context, tok config.Token, current *gitlab.Token, opts RotateOptions) Outcome {
	if opts.Strategy != "" {
		tok.Strategy = opts.Strategy
	}
	if opts.ExpiresIn > 0 {
		tok.Lifetime = opts.ExpiresIn
	}
	kind, strategy := "rotation", tok.Strategy
	r := &journal.Rotation{
		Ref: tok.Ref(), Kind: kind, Strategy: strategy, TokenName: tok.Name,
		Reason: opts.Reason, StartedAt: e.d.Clock.Now(), UpdatedAt: e.d.Clock.Now(),
	}
	r.ResourceType, r.ResourcePath = "project", tok.Project
	if tok.Group != "" {
		r.ResourceType, r.ResourcePath = "group", tok.Group
	}
	if current != nil {
		r.OldTokenID = current.ID
	} else {
		// Nothing to rotate from: rotate and self need a token to start with.
		r.Kind, r.Strategy = "creation", "overlap"
	}
	if err := e.d.Store.Create(ctx, r); err != nil {
		return Outcome{Rotation: r, Status: StatusFailed, Err: fmt.Errorf("journal: %w", err)}
	}
	if err := e.fault(r, journal.StepPlanned, true); err != nil {
		return Outcome{Rotation: r, Status: StatusRetry, Err: err}
	}
	tok.Strategy = r.Strategy
	return e.drive(ctx, r, tok)
}

// Resume carries every unfinished rotation on. Tokens no longer in cfg fail
// with a clear reason: their sinks are unknown now.
func (e *Engine) Resume(ctx context.Context, cfg *config.Config) ([]Outcome, error) {
	unfinished, err := e.d.Store.Unfinished(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var out []Outcome
	for _, r := range unfinished {
		i := slices.IndexFunc(cfg.Tokens, func(t config.Token) bool { return t.Ref() == r.Ref })
		if i < 0 {
			out = append(out, e.fail(ctx, r, fmt.Errorf("%s is no longer in the config; finish by hand (new token %d, old token %d)", r.Ref, r.NewTokenID, r.OldTokenID)))
			continue
		}
		tok := cfg.Tokens[i]
		tok.Strategy = r.Strategy
		out = append(out, e.drive(ctx, r, tok))
	}
	return out, nil
}

// Apply resumes unfinished rotations, then carries out the plan's creations
// and rotations.
func (e *Engine) Apply(ctx context.Context, cfg *config.Config, p *Plan) ([]Outcome, error) {
	out, err := e.Resume(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, it := range p.Items {
		if it.Action != ActionCreate && it.Action != ActionRotate {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		reason := it.Reason
		out = append(out, e.Start(ctx, it.Token, it.Current, RotateOptions{Reason: reason}))
	}
	return out, ctx.Err()
}

// lastFailure describes the token's most recent rotation if it failed, so
// that a failure stays visible in every plan until a rotation succeeds.
func (e *Engine) lastFailure(ctx context.Context, ref string) (string, error) {
	rots, err := e.d.Store.List(ctx, journal.Filter{Ref: ref, Limit: 10})
	if err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	for _, r := range rots {
		if r.Kind == journal.KindRevocation {
			continue
		}
		if r.Step != journal.StepFailed {
			return "", nil
		}
		msg := fmt.Sprintf("last rotation %s failed: %s", r.ID, r.Error)
		if r.NewTokenID != 0 && r.OldTokenID != 0 && r.Strategy == "overlap" {
			msg += fmt.Sprintf(" (new token %d and old token %d are both still alive)", r.NewTokenID, r.OldTokenID)
		}
		return msg + "; fix the cause, then run `tokenwarden rotate " + ref + "`", nil
	}
	return "", nil
}
