package sim

import (
	"net/http"
	"strings"
)

// Version is what GET /version and /metadata report.
const Version = "18.6.0-ee"

func (s *Server) getCurrentUser(c *call) {
	writeJSON(c.w, http.StatusOK, userView(c.base, c.user, c.user))
}

func (s *Server) listUsers(c *call) {
	name, byName := c.p.get("username")
	users := s.st.userList
	if byName {
		users = nil
		for _, u := range s.st.userList {
			if strings.EqualFold(u.Username, name) {
				users = append(users, u)
			}
		}
	}
	writeViews(c, users, func(u *user) userJSON { return userView(c.base, u, c.user) })
}

func (s *Server) getUser(c *call) {
	id, ok := parseID(c.r.PathValue("uid"))
	u := s.st.users[id]
	if !ok || u == nil {
		message(c.w, http.StatusNotFound, "404 User Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, userView(c.base, u, c.user))
}

func (s *Server) getVersion(c *call) {
	writeJSON(c.w, http.StatusOK, map[string]any{
		"version":    Version,
		"revision":   "0e8f0c5a7b1",
		"kas":        map[string]any{"enabled": false, "externalUrl": nil, "version": nil},
		"enterprise": true,
	})
}
