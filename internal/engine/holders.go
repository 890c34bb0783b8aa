package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// A holder is where a managed token lives, with the calls the engine makes
// on it; one skeleton (mintOverlap, mintRotate, retireOld) drives them all.
//
//   - access tokens of a group or project (create, rotate, revoke);
//   - a service account's personal access tokens (issue 12): the same calls
//     under …/groups/:id/service_accounts/:user_id/personal_access_tokens
//     for a group's account, or the administrator's
//     POST /users/:id/personal_access_tokens and
//     POST /personal_access_tokens/:id/rotate for an instance one;
//   - deploy tokens and pipeline trigger tokens, which GitLab cannot rotate
//     (docs/gitlab-api.md): overlap only, create and delete.
//
// A rotation's marker travels in an access token's description; a deploy
// token has no description and a trigger token only its description, which
// is its name, so theirs travels in the name ("pull [tokenwarden rot-…]") and
// the configured name is matched with any marker stripped.
type holder interface {
	// named lists the tokens with the configured name (marker aside), in
	// every state GitLab lists them, id ascending.
	named(ctx context.Context) ([]gitlab.Token, error)
	// get reads token id.
	get(ctx context.Context, id int64) (gitlab.Token, error)
	// create mints a new token carrying rotation rotationID's marker.
	create(ctx context.Context, rotationID string, expires time.Time) (gitlab.Token, secret.Secret, error)
	// rotate has GitLab revoke token id and answer its successor.
	rotate(ctx context.Context, id int64, expires time.Time) (gitlab.Token, secret.Secret, error)
	// recoverCreate handles t, which carries this rotation's marker: an
	// earlier create went through but its answer was lost. done: got is
	// the rotation's new token; else t is out of the way and a new one is
	// created.
	recoverCreate(ctx context.Context, t gitlab.Token, expires time.Time) (got minted, done bool, err error)
	// revoke revokes (or deletes) token id; alreadyGone: it was not there.
	revoke(ctx context.Context, id int64) (alreadyGone bool, err error)
}

// checker is a holder whose tokens cannot call the REST API (deploy and
// trigger tokens): the managing token checks a new secret instead.
type checker interface {
	check(ctx context.Context, sec secret.Secret, id int64, now time.Time) error
	// checked is the journal's line for a passed check.
	checked(id int64) string
}

// holderOf is tok's holder, reached with the managing token.
func (e *Engine) holderOf(ctx context.Context, tok config.Token) (holder, error) {
	m, err := e.managing()
	if err != nil {
		return nil, err
	}
	if tok.IsServiceAccountToken() {
		var g gitlab.Resource
		if tok.Group != "" {
			if g, err = m.Resolve(ctx, "group", tok.Group); err != nil {
				return nil, err
			}
		}
		sa, err := m.FindServiceAccount(ctx, g, tok.ServiceAccount)
		if errors.Is(err, gitlab.ErrNoServiceAccount) {
			return nil, &refusal{err.Error()}
		}
		return serviceAccountTokens(m, sa, tok), err
	}
	res, err := e.resource(ctx, m, tok)
	if err != nil {
		return nil, err
	}
	switch {
	case tok.IsDeployToken():
		return deployTokens{overlapOnly{m, res, tok, gitlab.KindDeployToken}}, nil
	case tok.IsTriggerToken():
		return triggerTokens{overlapOnly{m, res, tok, gitlab.KindTriggerToken}}, nil
	}
	return resourceTokens(m, res, tok), nil
}

// namedAs keeps the tokens of list whose name, marker aside, is name.
func namedAs(list []gitlab.Token, name string, err error) ([]gitlab.Token, error) {
	if err != nil {
		return nil, err
	}
	var out []gitlab.Token
	for _, t := range list {
		if gitlab.Unmarked(t.Name) == name {
			out = append(out, t)
		}
	}
	return out, nil
}

// byID is the token id of list.
func byID(list []gitlab.Token, id int64, what string, err error) (gitlab.Token, error) {
	if err != nil {
		return gitlab.Token{}, err
	}
	for _, t := range list {
		if t.ID == id {
			return t, nil
		}
	}
	return gitlab.Token{}, &refusal{fmt.Sprintf("%s %d is gone", what, id)}
}

// accessTokens are a group's or project's access tokens, or a service
// account's personal access tokens: the same calls (list, read, create,
// rotate, revoke) on different endpoints, bound when the holder is made.
// A rotation keeps a token's user (a group or project token's bot user, the
// service account); a token someone made by hand under the same name in a
// group or project has a bot user of its own (successor tells them apart),
// while a service account's would share its user.
type accessTokens struct {
	tok  config.Token
	list func(context.Context) ([]gitlab.Token, error) // every token, id ascending
	read func(context.Context, int64) (gitlab.Token, error)
	mint func(context.Context, gitlab.MintSpec) (gitlab.Token, secret.Secret, error)
	rot  func(context.Context, int64, time.Time) (gitlab.Token, secret.Secret, error)
	del  func(context.Context, int64) (bool, error)
}

// resourceTokens are res's access tokens.
func resourceTokens(c *gitlab.Client, res gitlab.Resource, tok config.Token) accessTokens {
	return accessTokens{tok: tok,
		list: func(ctx context.Context) ([]gitlab.Token, error) { return c.TokensNamed(ctx, res, tok.Name) },
		read: func(ctx context.Context, id int64) (gitlab.Token, error) { return c.AccessToken(ctx, res, id) },
		mint: func(ctx context.Context, s gitlab.MintSpec) (gitlab.Token, secret.Secret, error) {
			return c.CreateAccessToken(ctx, res, s)
		},
		rot: func(ctx context.Context, id int64, exp time.Time) (gitlab.Token, secret.Secret, error) {
			return c.RotateAccessToken(ctx, res, id, exp)
		},
		del: func(ctx context.Context, id int64) (bool, error) { return c.RevokeToken(ctx, res, id) },
	}
}

// serviceAccountTokens are sa's personal access tokens. GitLab has no call
// that reads one of a group's service account's tokens, so get reads the list.
func serviceAccountTokens(c *gitlab.Client, sa gitlab.ServiceAccount, tok config.Token) accessTokens {
	list := func(ctx context.Context) ([]gitlab.Token, error) { return c.ServiceAccountTokens(ctx, sa) }
	return accessTokens{tok: tok, list: list,
		read: func(ctx context.Context, id int64) (gitlab.Token, error) {
			all, err := list(ctx)
			return byID(all, id, "token", err)
		},
		mint: func(ctx context.Context, s gitlab.MintSpec) (gitlab.Token, secret.Secret, error) {
			return c.CreateServiceAccountToken(ctx, sa, s)
		},
		rot: func(ctx context.Context, id int64, exp time.Time) (gitlab.Token, secret.Secret, error) {
			return c.RotateServiceAccountToken(ctx, sa, id, exp)
		},
		del: func(ctx context.Context, id int64) (bool, error) { return c.RevokeServiceAccountToken(ctx, sa, id) },
	}
}

func (h accessTokens) named(ctx context.Context) ([]gitlab.Token, error) {
	all, err := h.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []gitlab.Token
	for _, t := range all {
		if t.Name == h.tok.Name {
			out = append(out, t)
		}
	}
	return out, nil
}

func (h accessTokens) get(ctx context.Context, id int64) (gitlab.Token, error) {
	return h.read(ctx, id)
}

// create mints the configured name, scopes and role, the marker in the
// description.
func (h accessTokens) create(ctx context.Context, rotationID string, expires time.Time) (gitlab.Token, secret.Secret, error) {
	return h.mint(ctx, gitlab.MintSpec{Name: h.tok.Name, Description: withMarker(h.tok.Description, rotationID),
		Scopes: h.tok.Scopes, AccessLevel: h.tok.AccessLevel, ExpiresAt: expires})
}

func (h accessTokens) rotate(ctx context.Context, id int64, expires time.Time) (gitlab.Token, secret.Secret, error) {
	return h.rot(ctx, id, expires)
}

// recoverCreate rotates the marked token: that yields a secret again (GitLab
// shows one only once), and it stays a single live successor. A revoked one
// is passed over.
func (h accessTokens) recoverCreate(ctx context.Context, t gitlab.Token, expires time.Time) (minted, bool, error) {
	if !t.Active || t.Revoked {
		return minted{}, false, nil
	}
	nt, sec, err := h.rotate(ctx, t.ID, expires)
	return minted{nt, sec, fmt.Sprintf("recovered lost create response: rotated token %d into", t.ID)}, err == nil, err
}

func (h accessTokens) revoke(ctx context.Context, id int64) (bool, error) { return h.del(ctx, id) }

// deployTokens are a group's or project's deploy tokens. A deploy token
// cannot call the REST API, so it is checked through the managing token:
// GitLab must list it, with the id its create answered, as neither revoked
// nor expired. Its secret is not sent anywhere: it only works with Git, the
// container registry and the package registry, which tokenwarden does not
// call.
type deployTokens struct{ overlapOnly }

// overlapOnly is what deploy and trigger tokens share: a group's or
// project's credentials of one kind that GitLab lists and deletes but
// cannot rotate, the rotation marker in their name.
type overlapOnly struct {
	c    *gitlab.Client
	res  gitlab.Resource
	tok  config.Token
	kind string // gitlab.KindDeployToken or gitlab.KindTriggerToken
}

func (h overlapOnly) named(ctx context.Context) ([]gitlab.Token, error) {
	list := h.c.TriggerTokens
	if h.kind == gitlab.KindDeployToken {
		list = h.c.DeployTokens
	}
	all, err := list(ctx, h.res)
	sortTokens(all)
	return namedAs(all, h.tok.Name, err)
}

func (h overlapOnly) rotate(context.Context, int64, time.Time) (gitlab.Token, secret.Secret, error) {
	return gitlab.Token{}, secret.Secret{}, &refusal{"GitLab has no rotate endpoint for a " + h.kind + ": use strategy overlap"}
}

// revoke deletes token id (GitLab's API has no revoke for these kinds).
func (h overlapOnly) revoke(ctx context.Context, id int64) (bool, error) {
	return h.c.RevokeCredential(ctx, gitlab.Token{ID: id, Resource: h.res, Kind: h.kind})
}

func (h deployTokens) get(ctx context.Context, id int64) (gitlab.Token, error) {
	return h.c.DeployToken(ctx, h.res, id)
}

func (h deployTokens) create(ctx context.Context, rotationID string, expires time.Time) (gitlab.Token, secret.Secret, error) {
	return h.c.CreateDeployToken(ctx, h.res, gitlab.DeploySpec{
		Name: withMarker(h.tok.Name, rotationID), Username: h.tok.Username, Scopes: h.tok.Scopes, ExpiresAt: expires,
	})
}

// recoverCreate deletes the marked token: its secret, shown only in the
// lost answer, is gone and was never delivered; a fresh one is created — a
// single live successor, whatever happened before.
func (h deployTokens) recoverCreate(ctx context.Context, t gitlab.Token, _ time.Time) (minted, bool, error) {
	if _, err := h.revoke(ctx, t.ID); err != nil {
		return minted{}, false, err
	}
	return minted{how: fmt.Sprintf("recovered lost create response: deleted deploy token %d (its secret was never seen) and created", t.ID)}, false, nil
}

func (h deployTokens) check(ctx context.Context, _ secret.Secret, id int64, now time.Time) error {
	t, err := h.get(ctx, id)
	if err != nil {
		return err
	}
	if !t.Active || t.Revoked || expired(t, now) {
		return &refusal{fmt.Sprintf("deploy token %d is revoked or expired", id)}
	}
	return nil
}

func (deployTokens) checked(id int64) string {
	return fmt.Sprintf("GitLab lists deploy token %d as active (a deploy token cannot call the REST API)", id)
}

// triggerTokens are a project's pipeline trigger tokens; a trigger token's
// name is its description. GitLab shows a trigger token in full to its
// owner (Ci::TriggerPresenter; docs/gitlab-api.md), and the managing token
// owns the ones it creates: a new secret is checked by reading the token
// back and comparing, and a lost create is recovered by reading its secret.
type triggerTokens struct{ overlapOnly }

func (h triggerTokens) get(ctx context.Context, id int64) (gitlab.Token, error) {
	t, _, _, err := h.c.TriggerToken(ctx, h.res, id)
	return t, err
}

func (h triggerTokens) create(ctx context.Context, rotationID string, expires time.Time) (gitlab.Token, secret.Secret, error) {
	return h.c.CreateTriggerToken(ctx, h.res, withMarker(h.tok.Name, rotationID), expires)
}

// recoverCreate reads the marked token's secret back (the managing token
// owns it). Were it somebody else's, its secret is unknowable: it is
// deleted and a fresh one created.
func (h triggerTokens) recoverCreate(ctx context.Context, t gitlab.Token, _ time.Time) (minted, bool, error) {
	got, sec, full, err := h.c.TriggerToken(ctx, h.res, t.ID)
	if err != nil {
		return minted{}, false, err
	}
	if full {
		return minted{got, sec, fmt.Sprintf("recovered lost create response: read back trigger token %d (the managing token owns it)", t.ID)}, true, nil
	}
	if _, err := h.revoke(ctx, t.ID); err != nil {
		return minted{}, false, err
	}
	return minted{how: fmt.Sprintf("recovered lost create response: deleted trigger token %d (owned by user %d, its secret unknowable) and created", t.ID, got.UserID)}, false, nil
}

func (h triggerTokens) check(ctx context.Context, sec secret.Secret, id int64, now time.Time) error {
	t, shown, full, err := h.c.TriggerToken(ctx, h.res, id)
	if err != nil {
		return err
	}
	switch {
	case !full:
		return &refusal{fmt.Sprintf("trigger token %d is owned by user %d: GitLab does not show its secret to the managing token", id, t.UserID)}
	case !shown.Equal(sec):
		return &refusal{fmt.Sprintf("trigger token %d does not hold the new secret", id)}
	case expired(t, now):
		return &refusal{fmt.Sprintf("trigger token %d is expired", id)}
	}
	return nil
}

func (triggerTokens) checked(id int64) string {
	return fmt.Sprintf("GitLab shows trigger token %d to its owner with the new secret (a trigger token cannot call the REST API)", id)
}

func expired(t gitlab.Token, now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// checkerOf is tok's checker when its kind has one (without reaching GitLab).
func checkerOf(tok config.Token) (checker, bool) {
	switch {
	case tok.IsDeployToken():
		return deployTokens{}, true
	case tok.IsTriggerToken():
		return triggerTokens{}, true
	}
	return nil, false
}

// sortTokens orders ts by id, oldest first.
func sortTokens(ts []gitlab.Token) {
	slices.SortFunc(ts, func(a, b gitlab.Token) int { return cmp.Compare(a.ID, b.ID) })
}
