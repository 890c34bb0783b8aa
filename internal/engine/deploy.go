package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Deploy tokens (kind: deploy_token) are rotated by overlap only: GitLab has
// no rotate endpoint for them. A deploy token has a name and a username but
// no description, so a rotation's marker travels in the new token's name
// ("pull [tokenwarden rot-…]"); the configured name is matched with any
// marker stripped. A deploy token cannot call the REST API, so it is
// verified through the managing token: GitLab must list it, with the id its
// create answered, as neither revoked nor expired.

// deployName is the name a deploy token created by rotation id gets.
func deployName(name, rotationID string) string { return withMarker(name, rotationID) }

// deployBaseName is a deploy token's name without a rotation marker.
func deployBaseName(name string) string {
	return strings.TrimSpace(markerRE.ReplaceAllString(name, ""))
}

// deployTokensNamed lists res's deploy tokens whose name, without marker,
// is name, id ascending.
func deployTokensNamed(ctx context.Context, c *gitlab.Client, res gitlab.Resource, name string) ([]gitlab.Token, error) {
	all, err := c.DeployTokens(ctx, res)
	if err != nil {
		return nil, err
	}
	var out []gitlab.Token
	for _, t := range all {
		if deployBaseName(t.Name) == name {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b gitlab.Token) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// mintDeploy creates the new deploy token. A token carrying this rotation's
// marker is an earlier create whose answer was lost: its secret, shown only
// in that answer, is gone and was never delivered, so it is deleted and a
// fresh one created — a single live successor, whatever happened before.
func (e *Engine) mintDeploy(ctx context.Context, r *journal.Rotation, tok config.Token, expires time.Time) (minted, error) {
	m, res, err := e.managingOn(ctx, tok)
	if err != nil {
		return minted{}, err
	}
	existing, err := deployTokensNamed(ctx, m, res, tok.Name)
	if err != nil {
		return minted{}, err
	}
	how := "created deploy"
	for _, t := range existing {
		if !hasMarker(t.Name, r.ID) {
			continue
		}
		if _, err := m.RevokeCredential(ctx, t); err != nil {
			return minted{}, fmt.Errorf("recover lost create (deploy token %d): %w", t.ID, err)
		}
		how = fmt.Sprintf("recovered lost create response: deleted deploy token %d (its secret was never seen) and created deploy", t.ID)
	}
	nt, sec, err := m.CreateDeployToken(ctx, res, gitlab.DeploySpec{
		Name: deployName(tok.Name, r.ID), Username: tok.Username, Scopes: tok.Scopes, ExpiresAt: expires,
	})
	return minted{nt, sec, how}, err
}

// verifyDeploy checks that deploy token id of tok's resource is live: GitLab
// lists it, neither revoked nor expired. sec is not sent anywhere: a deploy
// token only works with Git, the container registry and the package
// registry, which tokenwarden does not call.
func (e *Engine) verifyDeploy(ctx context.Context, tok config.Token, _ secret.Secret, id int64) error {
	m, res, err := e.managingOn(ctx, tok)
	if err != nil {
		return err
	}
	t, err := m.DeployToken(ctx, res, id)
	if err != nil {
		return err
	}
	now := e.d.Clock.Now()
	if !t.Active || t.Revoked || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return &refusal{fmt.Sprintf("deploy token %d is revoked or expired", id)}
	}
	return nil
}

// revokeKind revokes token id of res as tok's kind calls for: a deploy
// token is deleted, an access token revoked.
func revokeKind(ctx context.Context, m *gitlab.Client, res gitlab.Resource, tok config.Token, id int64) (alreadyGone bool, err error) {
	if tok.IsDeployToken() {
		return m.RevokeCredential(ctx, gitlab.Token{ID: id, Resource: res, Kind: gitlab.KindDeployToken})
	}
	return m.RevokeToken(ctx, res, id)
}
