package doctor

import (
	"context"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"
)

type memberLevel struct {
	level    int
	username string
}

// membership reads the role of the token's user in a project or group,
// inherited memberships included (GET …/members/all/:user_id).
func (s *session) membership(ctx context.Context, kind string, id int64) (memberLevel, error) {
	uid := s.self.UserID
	if kind == "project" {
		m, _, err := s.api.ProjectMembers.GetInheritedProjectMember(id, uid, gl.WithContext(ctx))
		if err != nil {
			return memberLevel{}, err
		}
		return memberLevel{int(m.AccessLevel), m.Username}, nil
	}
	m, _, err := s.api.GroupMembers.GetInheritedGroupMember(id, uid, gl.WithContext(ctx))
	if err != nil {
		return memberLevel{}, err
	}
	return memberLevel{int(m.AccessLevel), m.Username}, nil
}

// isAdmin reports whether the token belongs to an administrator, who reaches
// every project and group without being a member.
func (s *session) isAdmin(ctx context.Context) (bool, error) {
	u, _, err := s.api.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return false, err
	}
	return u.IsAdmin, nil
}

// isBotToken guesses from GET /user whether the token is a group or project
// access token (its user is a bot).
func (s *session) isBotToken() bool {
	u, _, err := s.api.Users.CurrentUser()
	return err == nil && (u.Bot || strings.Contains(u.Username, "_bot_"))
}
