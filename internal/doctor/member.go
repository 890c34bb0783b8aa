package doctor

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"
)

type memberLevel struct {
	level    int
	username string
}

// membership reads the role of the token's user in a project or group,
// inherited memberships included. It asks GET …/members/all/:user_id
// first; client-go turns every 404 into the same error, so a 404 there
// (not a member — or an instance without that route) is checked against
// the token's own associations before it counts as "not a member".
func (s *session) membership(ctx context.Context, kind string, id int64) (memberLevel, error) {
	uid := s.self.UserID
	var (
		m   memberLevel
		err error
	)
	if kind == "project" {
		var pm *gl.ProjectMember
		if pm, _, err = s.api.ProjectMembers.GetInheritedProjectMember(id, uid, gl.WithContext(ctx)); err == nil {
			m = memberLevel{int(pm.AccessLevel), pm.Username}
		}
	} else {
		var gm *gl.GroupMember
		if gm, _, err = s.api.GroupMembers.GetInheritedGroupMember(id, uid, gl.WithContext(ctx)); err == nil {
			m = memberLevel{int(gm.AccessLevel), gm.Username}
		}
	}
	if err == nil {
		return m, nil
	}
	level, aerr := s.associatedLevel(ctx, kind, id)
	if aerr != nil {
		return memberLevel{}, err
	}
	if level == 0 {
		return memberLevel{}, gl.ErrNotFound
	}
	return memberLevel{level: level}, nil
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

// associatedLevel returns the role of the token's user in the resource, 0
// when it is not among the token's associations.
func (s *session) associatedLevel(ctx context.Context, kind string, id int64) (int, error) {
	for page := 1; page > 0; {
		req, err := s.api.NewRequest(http.MethodGet, "personal_access_tokens/self/associations",
			&gl.ListOptions{PerPage: 100, Page: int64(page)}, []gl.RequestOptionFunc{gl.WithContext(ctx)})
		if err != nil {
			return 0, fmt.Errorf("associations: %w", err)
		}
		var a associations
		resp, err := s.api.Do(req, &a)
		if err != nil {
			return 0, fmt.Errorf("associations: %w", err)
		}
		if kind == "group" {
			for _, g := range a.Groups {
				if g.ID == id {
					return g.AccessLevels, nil
				}
			}
		} else {
			for _, p := range a.Projects {
				if p.ID == id {
					return max(deref(p.AccessLevels.Project), deref(p.AccessLevels.Group)), nil
				}
			}
		}
		page = int(resp.NextPage)
	}
	return 0, nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
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

// isBotToken tells from GET /user whether the token is a group or project
// access token (its user is a bot).
func (s *session) isBotToken(ctx context.Context) bool {
	u, _, err := s.api.Users.CurrentUser(gl.WithContext(ctx))
	return err == nil && (u.Bot || strings.Contains(u.Username, "_bot_"))
}

// username is the token's user's name, "" when GitLab does not say.
func (s *session) username(ctx context.Context) string {
	u, _, err := s.api.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return ""
	}
	return u.Username
}
