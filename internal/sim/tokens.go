package sim

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Scopes GitLab accepts for group/project access tokens; personal tokens add
// patOnlyScopes.
var (
	resourceScopes = []string{"api", "read_api", "create_runner", "manage_runner", "k8s_proxy", "self_rotate", "read_repository", "write_repository", "read_registry", "write_registry", "read_virtual_registry", "write_virtual_registry", "read_observability", "write_observability", "ai_features"}
	patOnlyScopes  = []string{"read_user", "sudo", "admin_mode"}
	accessLevels   = []int{10, 15, 20, 30, 40, 50}
)

// resource resolves {id} of kind to a resource the caller can see and the
// caller's access level in it; it answers 404 itself when there is none.
func (c *call) resource(kind string) (int64, int, bool) {
	if kind == "group" {
		g := c.group()
		if g == nil {
			return 0, 0, false
		}
		return g.ID, c.s.st.groupLevel(c.user, g), true
	}
	p := c.project()
	if p == nil {
		return 0, 0, false
	}
	return p.ID, c.s.st.projectLevel(c.user, p), true
}

// onResource makes the handler of an endpoint on a group or project (kind):
// resolve finds the call's {id} and checks the caller's access to it,
// answering the request itself when it fails; serve answers with the id.
func onResource(kind string, resolve func(*call, string) (int64, bool), serve func(c *call, id int64)) func(*call) {
	return func(c *call) {
		if id, ok := resolve(c, kind); ok {
			serve(c, id)
		}
	}
}

// canManageTokens: Owner of a group, Maintainer+ of a project, admins, and
// the resource's own Maintainer+ bots (which may list, get and revoke).
// tokenResource resolves the call's group or project for reading its access
// tokens: 401 (as GitLab answers) unless the caller may manage them.
func (c *call) tokenResource(kind string) (int64, bool) {
	id, lvl, ok := c.resource(kind)
	if !ok {
		return 0, false
	}
	if !c.canManageTokens(kind, lvl) {
		c.unauthorized()
		return 0, false
	}
	return id, true
}

func (c *call) canManageTokens(kind string, level int) bool {
	switch {
	case c.admin():
		return true
	case c.user.Bot:
		return level >= 40
	case kind == "group":
		return level >= 50
	default:
		return level >= 40
	}
}

func (s *Server) resourceTokens(kind string, id int64, now time.Time) []*token {
	all := s.st.resTokens[resKey{kind, id}]
	live := map[int64]bool{}
	for _, t := range all {
		if t.alive(now) {
			live[t.UserID] = true
		}
	}
	var out []*token
	for _, t := range all {
		if live[t.UserID] {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) listResourceTokens(kind string) func(*call) {
	return onResource(kind, (*call).tokenResource, func(c *call, id int64) {
		ts, ok := c.filterTokens(s.resourceTokens(kind, id, c.now))
		if !ok {
			return
		}
		writeViews(c, ts, func(t *token) tokenJSON { return tokenView(t, c.now, true, "") })
	})
}

// findResourceToken returns the listed token {tid} of the resource, or nil.
func (s *Server) findResourceToken(c *call, kind string, resID int64) *token {
	tid, ok := parseID(c.r.PathValue("tid"))
	t := s.st.token(tid)
	if !ok || t == nil || t.ResourceType != kind || t.ResourceID != resID || !s.st.listed(t, c.now) {
		return nil
	}
	return t
}

// onResourceToken makes the handler of an endpoint on the access token {tid}
// of the call's group or project (kind): serve gets the token, nil when the
// resource lists none such, and the caller's access level in the resource.
func (s *Server) onResourceToken(kind string, serve func(c *call, t *token, level int)) func(*call) {
	return func(c *call) {
		if id, lvl, ok := c.resource(kind); ok {
			serve(c, s.findResourceToken(c, kind, id), lvl)
		}
	}
}

func (s *Server) getResourceToken(kind string) func(*call) {
	return onResource(kind, (*call).tokenResource, func(c *call, id int64) {
		t := s.findResourceToken(c, kind, id)
		if t == nil {
			message(c.w, http.StatusNotFound, "404 "+kind+" Access Token Not Found")
			return
		}
		writeJSON(c.w, http.StatusOK, tokenView(t, c.now, true, ""))
	})
}

func (s *Server) createResourceToken(kind string) func(*call) {
	return func(c *call) {
		id, lvl, ok := c.resource(kind)
		if !ok {
			return
		}
		if miss := missing(c.p, "name", "scopes"); miss != "" {
			paramError(c.w, miss)
			return
		}
		scopes, ok := c.scopesParam(resourceScopes)
		if !ok {
			return
		}
		level := 40
		if v, ok := c.p.get("access_level"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || !slices.Contains(accessLevels, n) {
				paramError(c.w, "access_level does not have a valid value")
				return
			}
			level = n
		}
		exp, ok := c.expiresParam(365)
		if !ok {
			return
		}
		if c.user.Bot || !c.canManageTokens(kind, lvl) {
			message(c.w, http.StatusBadRequest, "400 Bad request - User does not have permission to create "+kind+" access token")
			return
		}
		if !c.admin() && level > lvl {
			message(c.w, http.StatusBadRequest, "400 Bad request - Access level of the token contains permissions not held by the creating user")
			return
		}
		if !c.checkMaxExpiry(exp) {
			return
		}
		t, secret := s.mintResourceToken(kind, id, TokenSpec{
			Name: c.p.str("name"), Description: c.p.str("description"), Scopes: scopes,
			AccessLevel: level, ExpiresAt: exp,
		}, c.now)
		writeJSON(c.w, http.StatusCreated, tokenView(t, c.now, true, secret))
	}
}

// scopesParam reads the scopes parameter. A scope in none of the allowed
// lists answers 400 "scopes does not have a valid value" and gives false.
func (c *call) scopesParam(allowed ...[]string) ([]string, bool) {
	scopes, _ := c.p.list("scopes")
	for _, sc := range scopes {
		if !slices.ContainsFunc(allowed, func(list []string) bool { return slices.Contains(list, sc) }) {
			paramError(c.w, "scopes does not have a valid value")
			return nil, false
		}
	}
	return scopes, true
}

// expiresParam reads expires_at; absent or null gives today+defaultDays (or
// nil when the instance does not require expiry).
func (c *call) expiresParam(defaultDays int) (*time.Time, bool) {
	v, ok := c.p.get("expires_at")
	if !ok || v == "" {
		if !c.s.requireExpiry {
			return nil, true
		}
		d := dateOf(c.now).AddDate(0, 0, defaultDays)
		return &d, true
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		t, err2 := time.Parse(time.RFC3339, v)
		if err2 != nil {
			paramError(c.w, "expires_at is invalid")
			return nil, false
		}
		d = dateOf(t)
	}
	return &d, true
}

// checkMaxExpiry enforces GitLab's maximum lifetime of 365 days.
func (c *call) checkMaxExpiry(exp *time.Time) bool {
	limit := dateOf(c.now).AddDate(0, 0, 365)
	if exp != nil && exp.After(limit) {
		message(c.w, http.StatusBadRequest, "400 Bad request - Expires at must be before "+limit.Format(time.DateOnly))
		return false
	}
	return true
}

func (s *Server) rotateResourceToken(kind string) func(*call) {
	return s.onResourceToken(kind, func(c *call, t *token, lvl int) {
		allowed := c.canManageTokens(kind, lvl) && (!c.user.Bot || (t != nil && t.ID == c.tok.ID))
		if t == nil || !allowed {
			if c.admin() {
				message(c.w, http.StatusNotFound, "404 Not Found")
			} else {
				c.unauthorized()
			}
			return
		}
		c.rotate(t, true)
	})
}

func (s *Server) selfRotateResourceToken(kind string) func(*call) {
	return func(c *call) {
		if !c.user.Bot {
			message(c.w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
			return
		}
		var resID int64
		if kind == "group" {
			g := s.st.findGroup(c.r.PathValue("id"))
			if g == nil {
				message(c.w, http.StatusNotFound, "404 Group Not Found")
				return
			}
			resID = g.ID
		} else {
			p := s.st.findProject(c.r.PathValue("id"))
			if p == nil {
				message(c.w, http.StatusNotFound, "404 Project Not Found")
				return
			}
			resID = p.ID
		}
		if c.tok.ResourceType != kind || c.tok.ResourceID != resID {
			c.unauthorized()
			return
		}
		c.rotate(c.tok, true)
	}
}

// rotate answers a rotate request for t: 400 when revoked, else a new token.
func (c *call) rotate(t *token, withResource bool) {
	if t.Revoked {
		message(c.w, http.StatusBadRequest, "400 Bad request - Token already revoked")
		return
	}
	exp, ok := c.expiresParam(7)
	if !ok || !c.checkMaxExpiry(exp) {
		return
	}
	nt, secret := c.s.rotateToken(t, exp, c.now)
	writeJSON(c.w, http.StatusOK, tokenView(nt, c.now, withResource, secret))
}

// rotateToken revokes old and issues its successor for the same bot/user.
func (s *Server) rotateToken(old *token, exp *time.Time, now time.Time) (*token, string) {
	old.Revoked, old.RevokedAt = true, now
	nt := &token{
		UserID: old.UserID, Name: old.Name, Description: old.Description,
		Scopes: slices.Clone(old.Scopes), AccessLevel: old.AccessLevel, CreatedAt: now,
		ExpiresAt: exp, ResourceType: old.ResourceType, ResourceID: old.ResourceID, PreviousID: old.ID,
	}
	secret := s.st.newSecret()
	s.st.addToken(nt, secret)
	return nt, secret
}

func (s *Server) revokeResourceToken(kind string) func(*call) {
	return s.onResourceToken(kind, func(c *call, t *token, lvl int) {
		if t == nil {
			message(c.w, http.StatusNotFound, "404 "+kind+" Access Token Not Found")
			return
		}
		if !c.canManageTokens(kind, lvl) {
			message(c.w, http.StatusBadRequest, fmt.Sprintf("400 Bad request - %s cannot delete %s", c.user.Name, s.st.users[t.UserID].Name))
			return
		}
		if !t.Revoked {
			t.Revoked, t.RevokedAt = true, c.now
		}
		c.w.WriteHeader(http.StatusNoContent)
	})
}

// mintResourceToken creates the bot user, its membership and the token.
func (s *Server) mintResourceToken(kind string, resID int64, spec TokenSpec, now time.Time) (*token, string) {
	username := fmt.Sprintf("%s_%d_bot_%s", kind, resID, s.st.hex32())
	bot := &user{ID: s.st.id("user"), Username: username, Name: spec.Name,
		Email: username + "@noreply." + s.host, Bot: true, CreatedAt: now}
	s.st.addUser(bot)
	s.st.setMember(memberKey{kind, resID, bot.ID}, spec.AccessLevel, now)
	t := spec.token(now)
	t.UserID, t.ResourceType, t.ResourceID = bot.ID, kind, resID
	secret := cmp.Or(spec.Secret, s.st.newSecret())
	s.st.addToken(t, secret)
	return t, secret
}
