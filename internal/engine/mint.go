package engine

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// mint obtains the new token and its secret and journals them before anything
// else sees the secret. It is safe to call again after a lost response.
func (e *Engine) mint(ctx context.Context, r *journal.Rotation, tok config.Token) error {
	now := e.d.Clock.Now()
	expires := schedule.ExpiresAtFor(now, tok.Lifetime)
	var (
		got minted
		err error
	)
	switch strategyOf(r) {
	case config.StrategyOverlap:
		got, err = e.mintOverlap(ctx, r, tok, expires)
	case config.StrategyRotate:
		got, err = e.mintRotate(ctx, r, tok, expires)
	case config.StrategySelf:
		got, err = e.mintSelf(ctx, r, tok, expires)
	case config.StrategyReset:
		got, err = e.mintRunner(ctx, tok)
	default:
		return e.fail(ctx, r, fmt.Errorf("unknown strategy %q", r.Strategy)).Err
	}
	if err != nil {
		if permanent(err) {
			return e.fail(ctx, r, err).Err
		}
		return err
	}
	r.NewTokenID = got.tok.ID
	r.NewSecret = got.sec
	if tok.IsDeployToken() {
		// The username is part of the credential (Git and the registry
		// match it exactly; docs/gitlab-api.md, deploy tokens): journaled
		// with the secret, so that a delivery resumed after a crash has both.
		r.NewUsername = cmp.Or(got.tok.Username, tok.Username)
	}
	r.NewExpiresAt = got.tok.ExpiresAt
	detail := fmt.Sprintf("%s token %d", got.how, got.tok.ID)
	if got.tok.ExpiresAt != nil {
		detail += ", expires " + got.tok.ExpiresAt.Format(time.DateOnly)
	}
	return e.commit(ctx, r, journal.StepMinted, detail)
}

// minted is what a strategy obtained from GitLab: the new token, its secret
// (shown once), and how it came about, for the journal.
type minted struct {
	tok gitlab.Token
	sec secret.Secret
	how string
}

// mintOverlap creates the new token beside the old one. A token carrying
// this rotation's marker means an earlier create (or recovery) went through
// but its answer never reached us. GitLab shows a secret only once, so each
// kind gets one back its own way (holder.recoverCreate): a single live
// successor, nothing created twice.
func (e *Engine) mintOverlap(ctx context.Context, r *journal.Rotation, tok config.Token, expires time.Time) (minted, error) {
	h, err := e.holderOf(ctx, tok)
	if err != nil {
		return minted{}, err
	}
	existing, err := h.named(ctx)
	if err != nil {
		return minted{}, err
	}
	how := "created"
	for _, t := range slices.Backward(existing) {
		if !hasMarker(t.Name, r.ID) && !hasMarker(t.Description, r.ID) {
			continue
		}
		got, done, err := h.recoverCreate(ctx, t, expires)
		if err != nil {
			return minted{}, fmt.Errorf("recover lost create (token %d): %w", t.ID, err)
		}
		if done {
			return got, nil
		}
		how = got.how
	}
	nt, sec, err := h.create(ctx, r.ID, expires)
	return minted{nt, sec, how}, err
}

// replaced reads the token rotation r of tok replaces, and its holder.
func (e *Engine) replaced(ctx context.Context, tok config.Token, r *journal.Rotation) (holder, gitlab.Token, error) {
	h, err := e.holderOf(ctx, tok)
	if err != nil {
		return nil, gitlab.Token{}, err
	}
	old, err := h.get(ctx, r.OldTokenID)
	if err != nil {
		return nil, gitlab.Token{}, fmt.Errorf("read token %d: %w", r.OldTokenID, err)
	}
	return h, old, nil
}

// successor finds the live token that GitLab made when it rotated old, in
// case the rotate response was lost: same name, a higher id, still active,
// and the same (bot) user — a rotation keeps the user, while a token that
// someone created by hand under the same name in a group or project has its
// own bot user (and rotating it would revoke a token its consumers hold).
// Without one, the rotation is refused with why.
func successor(ctx context.Context, h holder, old gitlab.Token, why string) (gitlab.Token, error) {
	list, err := h.named(ctx)
	if err != nil {
		return gitlab.Token{}, err
	}
	for _, t := range slices.Backward(list) {
		if t.ID > old.ID && t.UserID == old.UserID && t.Active && !t.Revoked {
			return t, nil
		}
	}
	return gitlab.Token{}, &refusal{why}
}

func (e *Engine) mintRotate(ctx context.Context, r *journal.Rotation, tok config.Token, expires time.Time) (minted, error) {
	h, old, err := e.replaced(ctx, tok, r)
	if err != nil {
		return minted{}, err
	}
	target, how := old.ID, "rotated"
	if old.Revoked {
		// Our earlier rotate went through but its answer was lost.
		s, err := successor(ctx, h, old, fmt.Sprintf("token %d is revoked and has no live successor named %q (one with its bot user); the next apply adopts a token of that name made by hand, or create one with `tokenwarden rotate %s --strategy overlap`", old.ID, tok.Name, r.Ref))
		if err != nil {
			return minted{}, err
		}
		target, how = s.ID, fmt.Sprintf("recovered lost rotate response: rotated successor %d into", s.ID)
	}
	nt, sec, err := h.rotate(ctx, target, expires)
	return minted{nt, sec, how}, err
}

func (e *Engine) mintSelf(ctx context.Context, r *journal.Rotation, tok config.Token, expires time.Time) (minted, error) {
	cur, err := e.currentSecret(ctx, tok)
	if err != nil {
		return minted{}, err
	}
	c, err := e.d.ClientFor(cur)
	if err != nil {
		return minted{}, err
	}
	// Never call self-rotate with a revoked token: GitLab's reuse detection
	// would then revoke the successor too. Ask the token about itself first.
	_, selfErr := c.SelfToken(ctx)
	if selfErr != nil && !gitlab.IsStatus(selfErr, http.StatusUnauthorized) {
		return minted{}, fmt.Errorf("check current token: %w", selfErr)
	}
	if gitlab.IsStatus(selfErr, http.StatusUnauthorized) {
		if e.d.GitLab == nil {
			return minted{}, &refusal{"the current token is revoked or expired (an earlier self-rotation may have gone through with its answer lost); without a managing token tokenwarden cannot recover it: create a new token by hand and put it into " + selfSource(tok)}
		}
		h, old, err := e.replaced(ctx, tok, r)
		if err != nil {
			return minted{}, err
		}
		s, err := successor(ctx, h, old, fmt.Sprintf("the current token of %s no longer works and has no live successor", r.Ref))
		if err != nil {
			return minted{}, err
		}
		nt, sec, err := h.rotate(ctx, s.ID, expires)
		return minted{nt, sec, fmt.Sprintf("recovered lost self-rotate response: rotated successor %d into", s.ID)}, err
	}
	res := gitlab.Resource{Type: tok.ResourceType(), Path: tok.ResourcePath()}
	nt, sec, err := c.SelfRotateAccessToken(ctx, res, expires)
	return minted{nt, sec, "self-rotated into"}, err
}

func selfSource(tok config.Token) string {
	if tok.TokenEnv != "" {
		return "$" + tok.TokenEnv
	}
	return tok.TokenFile
}

// currentSecret is the managed token's secret for the self strategy: the one
// tokenwarden minted last, or else the one the config points at. When
// GitLab rejects the journal's secret but accepts the config's (someone
// rotated the token by hand and put the new secret there), the config's wins.
func (e *Engine) currentSecret(ctx context.Context, tok config.Token) (secret.Secret, error) {
	journaled, err := e.lastMinted(ctx, tok.Ref())
	if err != nil {
		return secret.Secret{}, err
	}
	configured, cerr := config.LoadSecret(tok.TokenEnv, tok.TokenFile)
	switch {
	case journaled.IsZero():
		return configured, cerr
	case cerr != nil, configured.Equal(journaled):
		return journaled, nil
	}
	if e.rejected(ctx, journaled) && !e.rejected(ctx, configured) {
		return configured, nil
	}
	return journaled, nil
}

// lastMinted is the secret of the newest finished rotation of ref, or zero.
// List leaves secrets sealed, so the rotation is read again with Get.
func (e *Engine) lastMinted(ctx context.Context, ref string) (secret.Secret, error) {
	list, err := e.d.Store.List(ctx, journal.Filter{Ref: ref, Limit: 50})
	if err != nil {
		return secret.Secret{}, err
	}
	for _, r := range list {
		if r.Step != journal.StepDone || r.NewTokenID == 0 {
			continue
		}
		full, err := e.d.Store.Get(ctx, r.ID)
		if err != nil {
			return secret.Secret{}, err
		}
		if !full.NewSecret.IsZero() {
			return full.NewSecret, nil
		}
	}
	return secret.Secret{}, nil
}

// rejected reports whether GitLab answers 401 to s asking about itself.
func (e *Engine) rejected(ctx context.Context, s secret.Secret) bool {
	c, err := e.d.ClientFor(s)
	if err != nil {
		return false
	}
	_, err = c.SelfToken(ctx)
	return gitlab.IsStatus(err, http.StatusUnauthorized)
}
