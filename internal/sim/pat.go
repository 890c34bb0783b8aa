package sim

import (
	"net/http"
	"strconv"
)

// Personal access token endpoints. Group/project access tokens are personal
// access tokens of bot users, so they show up here too (without resource fields).

func (s *Server) listPATs(c *call) {
	var uid int64
	if v, ok := c.p.get("user_id"); ok {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			paramError(c.w, "user_id is invalid")
			return
		}
		uid = id
	}
	if !c.admin() {
		if uid != 0 && uid != c.user.ID {
			c.unauthorized()
			return
		}
		uid = c.user.ID
	}
	candidates := s.st.tokens
	if uid != 0 {
		candidates = nil
		if u := s.st.users[uid]; u != nil {
			candidates = u.tokens
		}
	}
	var all []*token
	for _, t := range candidates {
		if s.st.listed(t, c.now) {
			all = append(all, t)
		}
	}
	ts, ok := c.filterTokens(all)
	if !ok {
		return
	}
	writeViews(c, ts, func(t *token) tokenJSON { return tokenView(t, c.now, false, "") })
}

func (s *Server) getSelfPAT(c *call) {
	writeJSON(c.w, http.StatusOK, tokenView(c.tok, c.now, false, ""))
}

// patByID returns {tid} if the caller may see it (admins: any; others: own).
func (s *Server) patByID(c *call) *token {
	id, ok := parseID(c.r.PathValue("tid"))
	t := s.st.token(id)
	if !ok || t == nil || !s.st.listed(t, c.now) {
		return nil
	}
	return t
}

func (s *Server) getPAT(c *call) {
	t := s.patByID(c)
	if t == nil || (!c.admin() && t.UserID != c.user.ID) {
		message(c.w, http.StatusNotFound, "404 Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, tokenView(t, c.now, false, ""))
}

func (s *Server) rotateSelfPAT(c *call) { c.rotate(c.tok, false) }

// rotatePAT rotates a personal access token by id (admins: any; others: own).
func (s *Server) rotatePAT(c *call) {
	t := s.patByID(c)
	if t == nil || (!c.admin() && t.UserID != c.user.ID) {
		message(c.w, http.StatusNotFound, "404 Not Found")
		return
	}
	c.rotate(t, false)
}

func (s *Server) revokeSelfPAT(c *call) {
	c.tok.Revoked, c.tok.RevokedAt = true, c.now
	c.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revokePAT(c *call) {
	t := s.patByID(c)
	if t == nil {
		message(c.w, http.StatusNotFound, "404 Not Found")
		return
	}
	if !c.admin() && t.UserID != c.user.ID {
		message(c.w, http.StatusBadRequest, "400 Bad request")
		return
	}
	if !t.Revoked {
		t.Revoked, t.RevokedAt = true, c.now
	}
	c.w.WriteHeader(http.StatusNoContent)
}

type associatedGroup struct {
	ID             int64  `json:"id"`
	WebURL         string `json:"web_url"`
	Name           string `json:"name"`
	ParentID       *int64 `json:"parent_id"`
	OrganizationID int64  `json:"organization_id"`
	AccessLevels   int    `json:"access_levels"`
	Visibility     string `json:"visibility"`
}

type associatedProject struct {
	projectJSON
	AccessLevels struct {
		ProjectAccessLevel *int `json:"project_access_level"`
		GroupAccessLevel   *int `json:"group_access_level"`
	} `json:"access_levels"`
}

// selfAssociations lists the groups and projects the token's user belongs to.
func (s *Server) selfAssociations(c *call) {
	minLevel, _ := strconv.Atoi(c.p.str("min_access_level"))
	groups := []associatedGroup{}
	for _, g := range s.st.memberGroups(c.user) {
		lvl := s.st.groupLevel(c.user, g)
		if lvl == 0 || lvl < minLevel {
			continue
		}
		v := s.groupView(c.base, g)
		groups = append(groups, associatedGroup{ID: g.ID, WebURL: v.WebURL, Name: g.Name, ParentID: v.ParentID,
			OrganizationID: 1, AccessLevels: lvl, Visibility: "private"})
	}
	projects := []associatedProject{}
	for _, p := range s.st.memberProjects(c.user) {
		lvl := s.st.projectLevel(c.user, p)
		if lvl == 0 || lvl < minLevel {
			continue
		}
		ap := associatedProject{projectJSON: s.projectView(c.base, p)}
		if pl := s.st.directLevel(memberKey{"project", p.ID, c.user.ID}); pl > 0 {
			ap.AccessLevels.ProjectAccessLevel = &pl
		}
		if gl := s.st.groupLevel(c.user, s.st.groups[p.NamespaceID]); gl > 0 {
			ap.AccessLevels.GroupAccessLevel = &gl
		}
		projects = append(projects, ap)
	}
	gp, ok := paginate(c, groups)
	if !ok {
		return
	}
	pp, _ := paginate(c, projects)
	writeJSON(c.w, http.StatusOK, map[string]any{"groups": gp, "projects": pp})
}
