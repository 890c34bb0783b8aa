package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// The calling token itself: what it is (GET /personal_access_tokens/self),
// what role its user has on a group or project, and rotating it
// (POST /personal_access_tokens/self/rotate). Group and project access
// tokens are personal access tokens of bot users, so GitLab answers both
// endpoints for them too (lib/api/personal_access_tokens/self_information.rb,
// self_rotation.rb).

// SelfToken is the token the client authenticates with. Any scope may read
// it. AccessLevel is 0: GitLab does not say the role here (see MemberLevel).
func (c *Client) SelfToken(ctx context.Context) (Token, error) {
	t, err := getOne(ctx, c, func() (*gl.PersonalAccessToken, *gl.Response, error) {
		return c.api.PersonalAccessTokens.GetSinglePersonalAccessToken(gl.WithContext(ctx))
	})
	if err != nil {
		return Token{}, c.classify(err, target{kind: "instance"})
	}
	return toToken(*t, 0, Resource{Type: "user"}), nil
}

// Member is a user's membership of a group or project.
type Member struct {
	Level    int // access level, inherited memberships included
	Username string
}

// Member is user uid's membership of the group or project, inherited
// memberships included (GET …/members/all/:user_id). Not a member is
// IsNotFound — as is an instance without that route.
func (c *Client) Member(ctx context.Context, res Resource, uid int64) (Member, error) {
	path, err := resourcePath(res, "/members/all/"+strconv.FormatInt(uid, 10))
	if err != nil {
		return Member{}, err
	}
	var m struct {
		AccessLevel int    `json:"access_level"`
		Username    string `json:"username"`
	}
	err = c.retryThrottled(ctx, func() (*gl.Response, error) {
		return c.send(ctx, http.MethodGet, path, nil, &m)
	})
	if err != nil {
		return Member{}, c.fail(err, "membership of user %d", uid)
	}
	return Member{Level: m.AccessLevel, Username: m.Username}, nil
}

// MemberLevel is the role of user uid on the group or project, inherited
// memberships included; 0 when not a member.
func (c *Client) MemberLevel(ctx context.Context, res Resource, uid int64) (int, error) {
	m, err := c.Member(ctx, res, uid)
	if IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return m.Level, nil
}

// associations is GET /personal_access_tokens/self/associations: the groups
// and projects the token's user belongs to, with its role there.
type associations struct {
	Groups []struct {
		ID           int64 `json:"id"`
		AccessLevels int   `json:"access_levels"`
	} `json:"groups"`
	Projects []struct {
		ID           int64 `json:"id"`
		AccessLevels struct {
			Project *int `json:"project_access_level"`
			Group   *int `json:"group_access_level"`
		} `json:"access_levels"`
	} `json:"projects"`
}

// AssociatedLevel is the role of the calling token's user in the group or
// project (res.ID) as GET /personal_access_tokens/self/associations tells
// it; 0 when res is not among them. It reads pages until it finds res.
func (c *Client) AssociatedLevel(ctx context.Context, res Resource) (int, error) {
	deref := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	for page := int64(1); page > 0; {
		var a associations
		var next int64
		err := c.retryThrottled(ctx, func() (*gl.Response, error) {
			req, err := c.api.NewRequest(http.MethodGet, "personal_access_tokens/self/associations",
				&gl.ListOptions{PerPage: perPage, Page: page}, []gl.RequestOptionFunc{gl.WithContext(ctx)})
			if err != nil {
				return nil, err
			}
			a = associations{}
			resp, err := c.api.Do(req, &a)
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return 0, c.fail(err, "associations")
		}
		if res.Type == "group" {
			for _, g := range a.Groups {
				if g.ID == res.ID {
					return g.AccessLevels, nil
				}
			}
		} else {
			for _, p := range a.Projects {
				if p.ID == res.ID {
					return max(deref(p.AccessLevels.Project), deref(p.AccessLevels.Group)), nil
				}
			}
		}
		page = next
	}
	return 0, nil
}

// LookupToken asks GitLab's token information API (POST /admin/token,
// administrators only, GitLab 17.5+) about the token whose secret is tok:
// it answers even for an expired or revoked token.
func (c *Client) LookupToken(ctx context.Context, tok secret.Secret) (Token, error) {
	body := map[string]string{"token": tok.Reveal()}
	req, err := c.api.NewRequest(http.MethodPost, "admin/token", body, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return Token{}, c.fail(err, "token lookup")
	}
	var t gl.PersonalAccessToken
	if _, err := c.api.Do(req, &t); err != nil {
		return Token{}, c.fail(err, "token lookup")
	}
	return toToken(t, 0, Resource{Type: "user"}), nil
}

// TokenInfo is what GitLab's token information API says about a secret
// that is not an access token (a deploy, trigger or runner token …): each
// kind has its own entity, of which these are the common fields.
type TokenInfo struct {
	ID        int64
	Name      string // name, or description (triggers, runners)
	Revoked   bool
	Expired   bool       // the entity says so (deploy tokens)
	ExpiresAt *time.Time // expires_at or token_expires_at, a date or a time
}

// State is "revoked", "expired" or "active" at now.
func (t TokenInfo) State(now time.Time) string {
	switch {
	case t.Revoked:
		return StateRevoked
	case t.Expired || t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return StateExpired
	}
	return StateActive
}

// LookupOtherToken is LookupToken for the other kinds GitLab identifies.
func (c *Client) LookupOtherToken(ctx context.Context, tok secret.Secret) (TokenInfo, error) {
	body := map[string]string{"token": tok.Reveal()}
	req, err := c.api.NewRequest(http.MethodPost, "admin/token", body, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return TokenInfo{}, c.fail(err, "token lookup")
	}
	var v struct {
		ID             int64   `json:"id"`
		Name           string  `json:"name"`
		Description    string  `json:"description"`
		Revoked        bool    `json:"revoked"`
		Expired        bool    `json:"expired"`
		ExpiresAt      *string `json:"expires_at"`
		TokenExpiresAt *string `json:"token_expires_at"`
	}
	if _, err := c.api.Do(req, &v); err != nil {
		return TokenInfo{}, c.fail(err, "token lookup")
	}
	info := TokenInfo{ID: v.ID, Name: v.Name, Revoked: v.Revoked, Expired: v.Expired}
	if info.Name == "" {
		info.Name = v.Description
	}
	for _, e := range []*string{v.ExpiresAt, v.TokenExpiresAt} {
		if e == nil {
			continue
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, *e); err == nil {
				info.ExpiresAt = &t
				break
			}
		}
	}
	return info, nil
}

// RotateSelf rotates the token the client authenticates with: GitLab revokes
// it at once and answers with its successor, whose secret is in the answer
// only. The request is sent once (a POST is never retried): a lost answer
// is recovered through the journal, not by asking again — a second request
// with the revoked secret would make GitLab revoke the successor too
// (token reuse detection, see docs/gitlab-api.md).
func (c *Client) RotateSelf(ctx context.Context, expires time.Time) (Token, secret.Secret, error) {
	t, _, err := c.api.PersonalAccessTokens.RotatePersonalAccessTokenSelf(
		&gl.RotatePersonalAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
	if err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "rotate the managing token")
	}
	return toToken(*t, 0, Resource{Type: "user"}), secret.New(t.Token), nil
}
