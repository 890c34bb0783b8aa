package doctor

import (
	"context"
	"net/http"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

type memberLevel struct {
	level    int
	username string
}

// membership reads the role of the token's user in a project or group,
// inherited memberships included. It asks GET …/members/all/:user_id
// first; a 404 there (not a member — or an instance without that route)
// is checked against the token's own associations before it counts as
// "not a member" (a 404 *gitlab.Error).
func (s *session) membership(ctx context.Context, kind string, id int64) (memberLevel, error) {
	res := gitlab.Resource{Type: kind, ID: id}
	m, err := s.api.Member(ctx, res, s.self.UserID)
	if err == nil {
		return memberLevel{m.Level, m.Username}, nil
	}
	level, aerr := s.api.AssociatedLevel(ctx, res)
	if aerr != nil {
		return memberLevel{}, err
	}
	if level == 0 {
		return memberLevel{}, &gitlab.Error{Kind: gitlab.ErrNotFound, Status: http.StatusNotFound, Message: "not a member", Reason: "not a member"}
	}
	return memberLevel{level: level}, nil
}

// isAdmin reports whether the token belongs to an administrator, who reaches
// every project and group without being a member.
func (s *session) isAdmin(ctx context.Context) (bool, error) {
	u, err := s.api.CurrentUser(ctx)
	if err != nil {
		return false, err
	}
	return u.Admin, nil
}

// isBotToken tells from GET /user whether the token is a group or project
// access token (its user is a bot).
func (s *session) isBotToken(ctx context.Context) bool {
	u, err := s.api.CurrentUser(ctx)
	return err == nil && (u.Bot || strings.Contains(u.Username, "_bot_"))
}

// username is the token's user's name, "" when GitLab does not say.
func (s *session) username(ctx context.Context) string {
	u, err := s.api.CurrentUser(ctx)
	if err != nil {
		return ""
	}
	return u.Username
}
