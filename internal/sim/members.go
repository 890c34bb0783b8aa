package sim

import "net/http"

// memberJSON is GitLab's Entities::Member: the user (UserBasic) merged with
// the membership. created_by is left out: GitLab omits it when nil, and the
// emulator does not record who added a member.
type memberJSON struct {
	userBasic
	AccessLevel int       `json:"access_level"`
	CreatedAt   jsonTime  `json:"created_at"`
	ExpiresAt   *jsonDate `json:"expires_at"`
}

// getMember serves GET /groups|projects/:id/members/:user_id (direct members
// only) and, with inherited, …/members/all/:user_id (memberships of ancestor
// groups count too; the highest access level wins, as in GitLab's members
// finders). A user who is not such a member gets GitLab's RecordNotFound
// answer, 404 {"message":"404 Not found"}.
func (s *Server) getMember(kind string, inherited bool) func(*call) {
	return func(c *call) {
		id, _, ok := c.resource(kind)
		if !ok {
			return
		}
		uid, ok := parseID(c.r.PathValue("uid"))
		if !ok {
			paramError(c.w, "user_id is invalid")
			return
		}
		u := s.st.users[uid]
		if u == nil {
			message(c.w, http.StatusNotFound, "404 Not found")
			return
		}
		m, found := s.memberOf(kind, id, u, inherited)
		if !found {
			message(c.w, http.StatusNotFound, "404 Not found")
			return
		}
		writeJSON(c.w, http.StatusOK, memberJSON{userBasic: basicView(c.base, u),
			AccessLevel: m.Level, CreatedAt: jsonTime(m.CreatedAt)})
	}
}

// memberOf finds u's membership of a group or project: the direct one, or
// with inherited the one with the highest level among the resource and the
// groups above it.
func (s *Server) memberOf(kind string, id int64, u *user, inherited bool) (membership, bool) {
	var keys []memberKey
	g := s.st.groups[id]
	if kind == "project" {
		keys = append(keys, memberKey{"project", id, u.ID})
		g = s.st.groups[s.st.projects[id].NamespaceID]
	}
	if kind == "group" || inherited {
		for _, a := range s.st.ancestors(g) {
			keys = append(keys, memberKey{"group", a.ID, u.ID})
			if !inherited {
				break
			}
		}
	}
	var best membership
	for _, k := range keys {
		if m, ok := s.st.members[k]; ok && m.Level > best.Level {
			best = m
		}
	}
	return best, best.Level > 0
}
