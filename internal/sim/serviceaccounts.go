package sim

import (
	"cmp"
	"net/http"
	"strconv"
	"time"
)

// Service accounts (EE: lib/api/service_accounts, ee/lib/api/group_service_accounts.rb
// and its request spec) and the admin's POST /users/:id/personal_access_tokens
// (lib/api/users.rb). A service account is a bot user (user_type
// service_account); its tokens are personal access tokens, so GET
// /personal_access_tokens lists them to admins like any other.

type serviceAccountJSON struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
}

func (s *Server) addServiceAccount(groupID int64, name, username string, now time.Time) *user {
	if username == "" {
		username = "service_account_" + s.st.hex32()
		if groupID != 0 {
			username = "service_account_group_" + strconv.FormatInt(groupID, 10) + "_" + s.st.hex32()
		}
	}
	u := &user{ID: s.st.id("user"), Username: username, Name: cmp.Or(name, "Service account user"),
		Email: username + "@noreply." + s.host, Bot: true, ServiceAccount: true, ProvisionedBy: groupID, CreatedAt: now}
	s.st.addUser(u)
	return u
}

func (s *Server) serviceAccounts(groupID int64) []*user {
	var out []*user
	for _, u := range s.st.userList {
		if u.ServiceAccount && u.ProvisionedBy == groupID {
			out = append(out, u)
		}
	}
	return out
}

func saView(u *user) serviceAccountJSON {
	return serviceAccountJSON{ID: u.ID, Username: u.Username, Name: u.Name}
}

// POST /service_accounts (admin): an instance service account.
func (s *Server) createServiceAccount(c *call) {
	if !c.admin() {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	if username := c.p.str("username"); username != "" && s.st.userByName(username) != nil {
		message(c.w, http.StatusBadRequest, "400 Bad request - Username has already been taken")
		return
	}
	u := s.addServiceAccount(0, c.p.str("name"), c.p.str("username"), c.now)
	writeJSON(c.w, http.StatusCreated, saView(u))
}

// GET /service_accounts (admin): the instance's service accounts.
func (s *Server) listServiceAccounts(c *call) {
	if !c.admin() {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	var all []*user
	for _, u := range s.st.userList {
		if u.ServiceAccount {
			all = append(all, u)
		}
	}
	writeViews(c, all, saView)
}

// saGroup resolves {id} to a group whose service accounts the caller manages
// (admin or Owner; 403 otherwise).
func (c *call) saGroup() *group {
	g := c.group()
	if g == nil {
		return nil
	}
	if !c.admin() && c.s.st.groupLevel(c.user, g) < 50 {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return nil
	}
	if g.ParentID != 0 {
		message(c.w, http.StatusBadRequest, "400 Bad request - Group must be a top-level group")
		return nil
	}
	return g
}

// The handlers on a group's service accounts are served onFound((*call).saGroup, …).

func (s *Server) createGroupServiceAccount(c *call, g *group) {
	if username := c.p.str("username"); username != "" && s.st.userByName(username) != nil {
		message(c.w, http.StatusBadRequest, "400 Bad request - Username has already been taken")
		return
	}
	u := s.addServiceAccount(g.ID, c.p.str("name"), c.p.str("username"), c.now)
	writeJSON(c.w, http.StatusCreated, saView(u))
}

func (s *Server) listGroupServiceAccounts(c *call, g *group) {
	writeViews(c, s.serviceAccounts(g.ID), saView)
}

// groupSA resolves {id} as saGroup does and {uid} to a service account of
// that group: 404 when it is not the group's, 400 when the user is not a
// service account.
func (c *call) groupSA() *user {
	g := c.saGroup()
	if g == nil {
		return nil
	}
	id, _ := parseID(c.r.PathValue("uid"))
	u := c.s.st.users[id]
	switch {
	case u == nil || (u.ServiceAccount && u.ProvisionedBy != g.ID):
		message(c.w, http.StatusNotFound, "404 User Not Found")
		return nil
	case !u.ServiceAccount:
		message(c.w, http.StatusBadRequest, "400 Bad request - User is not of type Service Account")
		return nil
	}
	return u
}

// The handlers on a group's service account are served onFound((*call).groupSA, …).

func (s *Server) listGroupSATokens(c *call, u *user) {
	ts, ok := c.filterTokens(u.tokens)
	if !ok {
		return
	}
	writeViews(c, ts, func(t *token) tokenJSON { return tokenView(t, c.now, false, "") })
}

// createUserPAT is POST /users/:id/personal_access_tokens (admin only).
func (s *Server) createUserPAT(c *call) {
	if !c.admin() {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	id, _ := parseID(c.r.PathValue("uid"))
	u := s.st.users[id]
	if u == nil {
		message(c.w, http.StatusNotFound, "404 User Not Found")
		return
	}
	s.createPATFor(c, u)
}

// createPATFor makes a personal access token for u: name and scopes required,
// expires_at defaults to the longest lifetime allowed (365 days).
func (s *Server) createPATFor(c *call, u *user) {
	if miss := missing(c.p, "name", "scopes"); miss != "" {
		paramError(c.w, miss)
		return
	}
	scopes, ok := c.scopesParam(resourceScopes, patOnlyScopes)
	if !ok {
		return
	}
	exp, ok := c.expiresParam(365)
	if !ok || !c.checkMaxExpiry(exp) {
		return
	}
	t := TokenSpec{Name: c.p.str("name"), Description: c.p.str("description"), Scopes: scopes, ExpiresAt: exp}.token(c.now)
	t.UserID, t.AccessLevel = u.ID, 0
	secret := s.st.newSecret()
	s.st.addToken(t, secret)
	writeJSON(c.w, http.StatusCreated, tokenView(t, c.now, false, secret))
}

// groupSAToken resolves {tid} to a token of the group's service account {uid}.
func (c *call) groupSAToken() *token {
	u := c.groupSA()
	if u == nil {
		return nil
	}
	id, _ := parseID(c.r.PathValue("tid"))
	t := c.s.st.token(id)
	if t == nil || t.UserID != u.ID {
		message(c.w, http.StatusNotFound, "404 Not found")
		return nil
	}
	return t
}

// rotateGroupSAToken: 200, the new token expires in a week unless
// expires_at (served onFound((*call).groupSAToken, …), as revoking is).
func (s *Server) rotateGroupSAToken(c *call, t *token) {
	c.rotate(t, false)
}

func (s *Server) revokeGroupSAToken(c *call, t *token) {
	if !t.Revoked {
		t.Revoked, t.RevokedAt = true, c.now
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// CreateServiceAccount makes a service account: an instance one when
// groupID is 0, else one provisioned by that top-level group.
func (s *Server) CreateServiceAccount(groupID int64, name string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if groupID != 0 {
		g := s.st.groups[groupID]
		if g == nil || g.ParentID != 0 {
			return User{}, errf("sim: service account: no top-level group " + strconv.FormatInt(groupID, 10))
		}
	}
	return userSnap(s.addServiceAccount(groupID, name, "", s.clock.Now())), nil
}

// createServiceAccountNamed makes service account username of group
// groupID (0: of the instance).
func (s *Server) createServiceAccountNamed(groupID int64, username string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.userByName(username) != nil {
		return User{}, errf("sim: user " + username + " exists")
	}
	return userSnap(s.addServiceAccount(groupID, username, username, s.clock.Now())), nil
}
