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
		if tok.IsDeployToken() {
			got, err = e.mintDeploy(ctx, r, tok, expires)
			break
		}
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

func (e *Engine) mintOverlap(ctx context.Context, r *journal.Rotation, tok config.Token, expires time.Time) (minted, error) {
	m, res, err := e.managingOn(ctx, tok)
	if err != nil {
		return minted{}, err
	}
	// A token carrying this rotation's marker means an earlier create (or
	// recovery rotate) succeeded but its response never reached us. GitLab
	// shows a secret only once, so get a fresh one by rotating that token:
	// it stays a single live successor, and nothing is created twice.
	existing, err := m.TokensNamed(ctx, res, tok.Name)
	if err != nil {
		return minted{}, err
	}
	for _, t := range slices.Backward(existing) {
		if t.Active && !t.Revoked && hasMarker(t.Description, r.ID) {
			nt, sec, err := m.RotateAccessToken(ctx, res, t.ID, expires)
			if err != nil {
				return minted{}, fmt.Errorf("recover lost create (token %d): %w", t.ID, err)
			}
			return minted{nt, sec, fmt.Sprintf("recovered lost create response: rotated token %d into", t.ID)}, nil
		}
	}
	nt, sec, err := m.CreateAccessToken(ctx, res, gitlab.MintSpec{
		Name: tok.Name, Description: withMarker(tok.Description, r.ID),
		Scopes: tok.Scopes, AccessLevel: tok.AccessLevel, ExpiresAt: expires,
	})
	return minted{nt, sec, "created"}, err
}

// replacing is the token a rotation replaces, read with the managing
// token, and its group or project.
type replacing struct {
	c   *gitlab.Client
	res gitlab.Resource
	old gitlab.Token
}

// replacing reads the token rotation r of tok replaces.
func (e *Engine) replacing(ctx context.Context, tok config.Token, r *journal.Rotation) (replacing, error) {
	m, res, err := e.managingOn(ctx, tok)
	if err != nil {
		return replacing{}, err
	}
	old, err := m.AccessToken(ctx, res, r.OldTokenID)
	if err != nil {
		return replacing{}, fmt.Errorf("read token %d: %w", r.OldTokenID, err)
	}
	return replacing{m, res, old}, nil
}

// successor finds the live token that GitLab made when it rotated the old
// one, in case the rotate response was lost: same name, a higher id, still
// active, and the same bot user — a rotation keeps the bot user, while a
// token that someone created by hand under the same name has its own (and
// rotating it would revoke a token its consumers hold). Without one, the
// rotation is refused with why.
func (rp replacing) successor(ctx context.Context, why string) (gitlab.Token, error) {
	list, err := rp.c.TokensNamed(ctx, rp.res, rp.old.Name)
	if err != nil {
		return gitlab.Token{}, err
	}
	for _, t := range slices.Backward(list) {
		if t.ID > rp.old.ID && t.UserID == rp.old.UserID && t.Active && !t.Revoked {
			return t, nil
		}
	}
	return gitlab.Token{}, &refusal{why}
}

func (e *Engine) mintRotate(ctx context.Context, r *journal.Rotation, tok config.Token, expires time.Time) (minted, error) {
	rp, err := e.replacing(ctx, tok, r)
	if err != nil {
		return minted{}, err
	}
	target, how := rp.old.ID, "rotated"
	if rp.old.Revoked {
		// Our earlier rotate went through but its answer was lost.
		s, err := rp.successor(ctx, fmt.Sprintf("token %d is revoked and has no live successor named %q (one with its bot user); the next apply adopts a token of that name made by hand, or create one with `tokenwarden rotate %s --strategy overlap`", rp.old.ID, tok.Name, r.Ref))
		if err != nil {
			return minted{}, err
		}
		target, how = s.ID, fmt.Sprintf("recovered lost rotate response: rotated successor %d into", s.ID)
	}
	nt, sec, err := rp.c.RotateAccessToken(ctx, rp.res, target, expires)
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
		rp, err := e.replacing(ctx, tok, r)
		if err != nil {
			return minted{}, err
		}
		s, err := rp.successor(ctx, fmt.Sprintf("the current token of %s no longer works and has no live successor", r.Ref))
		if err != nil {
			return minted{}, err
		}
		nt, sec, err := rp.c.RotateAccessToken(ctx, rp.res, s.ID, expires)
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
