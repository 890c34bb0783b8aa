package gitlab

import (
	"context"
	"errors"
	"fmt"
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
	var t *gl.PersonalAccessToken
	err := c.retryThrottled(ctx, func() (*gl.Response, error) {
		var resp *gl.Response
		var err error
		t, resp, err = c.API.PersonalAccessTokens.GetSinglePersonalAccessToken(gl.WithContext(ctx))
		return resp, err
	})
	if err != nil {
		return Token{}, c.classify(err, target{kind: "instance"})
	}
	return toToken(*t, 0, Resource{Type: "user"}), nil
}

// MemberLevel is the role of user uid on the group or project, inherited
// memberships included; 0 when not a member.
func (c *Client) MemberLevel(ctx context.Context, res Resource, uid int64) (int, error) {
	var level int
	err := c.retryThrottled(ctx, func() (*gl.Response, error) {
		if res.Type == "project" {
			m, resp, err := c.API.ProjectMembers.GetInheritedProjectMember(res.pid(), uid, gl.WithContext(ctx))
			if err == nil {
				level = int(m.AccessLevel)
			}
			return resp, err
		}
		m, resp, err := c.API.GroupMembers.GetInheritedGroupMember(res.pid(), uid, gl.WithContext(ctx))
		if err == nil {
			level = int(m.AccessLevel)
		}
		return resp, err
	})
	if errors.Is(err, gl.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, c.classify(err, target{kind: res.Type, path: res.Path})
	}
	return level, nil
}

// RotateSelf rotates the token the client authenticates with: GitLab revokes
// it at once and answers with its successor, whose secret is in the answer
// only. The request is sent once (a POST is never retried): a lost answer
// is recovered through the journal, not by asking again — a second request
// with the revoked secret would make GitLab revoke the successor too
// (token reuse detection, see docs/gitlab-api.md).
func (c *Client) RotateSelf(ctx context.Context, expires time.Time) (Token, secret.Secret, error) {
	t, _, err := c.API.PersonalAccessTokens.RotatePersonalAccessTokenSelf(
		&gl.RotatePersonalAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
	if err != nil {
		return Token{}, secret.Secret{}, fmt.Errorf("rotate the managing token: %w", c.classify(err, target{kind: "instance"}))
	}
	return toToken(*t, 0, Resource{Type: "user"}), secret.New(t.Token), nil
}
