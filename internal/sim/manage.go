package sim

import "net/http"

// The top-level group credentials inventory (EE, GitLab.com only:
// ee/lib/api/groups/… manage endpoints, 17.10+ for resource_access_tokens).
// GET /groups/:id/manage/resource_access_tokens lists every group and project
// access token below a top-level group in one paginated stream, with the
// access-token filters (state, revoked, created_*, last_used_*, expires_*,
// search, sort). Owner of the top-level group only. A self-managed instance
// answers 404; the emulator serves it only with Options.SaaS.

func (s *Server) manageResourceTokens(c *call) {
	if !s.saas {
		message(c.w, http.StatusNotFound, "404 Not Found")
		return
	}
	g := c.group()
	if g == nil {
		return
	}
	if g.ParentID != 0 {
		message(c.w, http.StatusNotFound, "404 Group Not Found")
		return
	}
	if !c.admin() && s.st.groupLevel(c.user, g) < 50 {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	var all []*token
	for _, t := range s.st.tokens {
		if t.ResourceType == "" || !s.st.listed(t, c.now) {
			continue
		}
		var in *group
		if t.ResourceType == "group" {
			in = s.st.groups[t.ResourceID]
		} else if p := s.st.projects[t.ResourceID]; p != nil {
			in = s.st.groups[p.NamespaceID]
		}
		if in != nil && s.st.isDescendant(in, g.ID) {
			all = append(all, t)
		}
	}
	ts, ok := c.filterTokens(all)
	if !ok {
		return
	}
	writeViews(c, ts, func(t *token) tokenJSON { return tokenView(t, c.now, true, "") })
}
