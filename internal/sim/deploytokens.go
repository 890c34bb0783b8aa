package sim

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Deploy tokens (lib/api/deploy_tokens.rb): a username plus a secret, held by
// a group or a project, for Git, the container registry and the package
// registry. They authenticate nothing on the REST API: their secrets are not
// in byDigest, so the API answers 401 to them.

// DeployTokenScopes are DeployToken::AVAILABLE_SCOPES.
var DeployTokenScopes = []string{"read_repository", "read_registry", "write_registry", "read_package_registry", "write_package_registry", "read_virtual_registry", "write_virtual_registry"}

type deployToken struct {
	ID           int64
	Name         string
	Username     string
	Scopes       []string
	CreatedAt    time.Time
	ExpiresAt    *time.Time // a time; nil → never (GitLab stores Forever.date and shows null)
	Revoked      bool
	Digest       [32]byte
	ResourceType string // "group" | "project"
	ResourceID   int64
}

func (d *deployToken) expired(now time.Time) bool {
	return d.ExpiresAt != nil && !now.Before(*d.ExpiresAt)
}

func (d *deployToken) active(now time.Time) bool { return !d.Revoked && !d.expired(now) }

type deployTokenJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Username  string    `json:"username"`
	ExpiresAt *jsonTime `json:"expires_at"`
	Scopes    []string  `json:"scopes"`
	Revoked   bool      `json:"revoked"`
	Expired   bool      `json:"expired"`
	Token     string    `json:"token,omitempty"`
}

func deployTokenView(d *deployToken, now time.Time, secret string) deployTokenJSON {
	return deployTokenJSON{ID: d.ID, Name: d.Name, Username: d.Username, ExpiresAt: timePtr(d.ExpiresAt),
		Scopes: slices.Clone(d.Scopes), Revoked: d.Revoked, Expired: d.expired(now), Token: secret}
}

// newDeploySecret: gldt- and 20 URL-safe characters.
func (st *store) newDeploySecret() string {
	return "gldt-" + strings.TrimPrefix(st.newSecret(), "glpat-")
}

func (st *store) resourceDeployTokens(kind string, id int64) []*deployToken {
	var out []*deployToken
	for _, d := range st.deployTokens {
		if d.ResourceType == kind && d.ResourceID == id {
			out = append(out, d)
		}
	}
	return out
}

// maintainedResource resolves {id} for the endpoints that need Maintainer+
// (the deploy token ones: read_deploy_token, create_deploy_token and
// destroy_deploy_token; a group's or project's runner list) or an
// administrator: 404 when the caller cannot see it, 403 below Maintainer.
func (c *call) maintainedResource(kind string) (int64, bool) {
	id, lvl, ok := c.resource(kind)
	if !ok {
		return 0, false
	}
	if !c.admin() && lvl < 40 {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return 0, false
	}
	return id, true
}

// activeFilter applies TokensFinder's active param.
func (c *call) activeFilter(ds []*deployToken) ([]*deployToken, bool) {
	v, present, ok := c.p.boolean("active")
	if !ok {
		paramError(c.w, "active is invalid")
		return nil, false
	}
	if !present || !v {
		return ds, true
	}
	var out []*deployToken
	for _, d := range ds {
		if d.active(c.now) {
			out = append(out, d)
		}
	}
	return out, true
}

func (s *Server) listAllDeployTokens(c *call) {
	if !c.admin() {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	ds, ok := c.activeFilter(s.st.deployTokens)
	if !ok {
		return
	}
	writeViews(c, ds, func(d *deployToken) deployTokenJSON { return deployTokenView(d, c.now, "") })
}

func (s *Server) listDeployTokens(kind string) func(*call) {
	return onResource(kind, (*call).maintainedResource, func(c *call, id int64) {
		ds, ok := c.activeFilter(s.st.resourceDeployTokens(kind, id))
		if !ok {
			return
		}
		writeViews(c, ds, func(d *deployToken) deployTokenJSON { return deployTokenView(d, c.now, "") })
	})
}

// deployTokenByPath returns the resource's token {tid}; it answers 400 for a
// non-integer id and 404 (ActiveRecord::RecordNotFound) for another's.
func (s *Server) deployTokenByPath(c *call, kind string, resID int64) *deployToken {
	raw := c.r.PathValue("tid")
	tid, ok := parseID(raw)
	if !ok {
		paramError(c.w, "token_id is invalid")
		return nil
	}
	for _, d := range s.st.deployTokens {
		if d.ID == tid && d.ResourceType == kind && d.ResourceID == resID {
			return d
		}
	}
	message(c.w, http.StatusNotFound, "404 Not found")
	return nil
}

func (s *Server) getDeployToken(kind string) func(*call) {
	return onResource(kind, (*call).maintainedResource, func(c *call, id int64) {
		if d := s.deployTokenByPath(c, kind, id); d != nil {
			writeJSON(c.w, http.StatusOK, deployTokenView(d, c.now, ""))
		}
	})
}

// deleteDeployToken destroys the token (the API deletes the row; the UI's
// "revoke" sets revoked): it leaves every list.
func (s *Server) deleteDeployToken(kind string) func(*call) {
	return onResource(kind, (*call).maintainedResource, func(c *call, id int64) {
		if d := s.deployTokenByPath(c, kind, id); d != nil {
			s.st.deployTokens = slices.DeleteFunc(s.st.deployTokens, func(x *deployToken) bool { return x == d })
			c.w.WriteHeader(http.StatusNoContent)
		}
	})
}

var deployUsername = regexp.MustCompile(`\A[a-zA-Z0-9.+_-]+\z`)

func (s *Server) createDeployToken(kind string) func(*call) {
	return onResource(kind, (*call).maintainedResource, func(c *call, id int64) {
		m := missing(c.p, "name")
		if _, ok := c.p.v["scopes"]; !ok {
			m = strings.TrimPrefix(m+", scopes is missing", ", ")
		}
		if m != "" {
			paramError(c.w, m)
			return
		}
		scopes, ok := c.scopesParam(DeployTokenScopes)
		if !ok {
			return
		}
		exp, ok := c.optionalDateTime("expires_at")
		if !ok {
			return
		}
		username := c.p.str("username")
		var errs []string
		if len(scopes) == 0 {
			errs = append(errs, "Scopes can't be blank")
		}
		if username != "" && !deployUsername.MatchString(username) {
			errs = append(errs, "Username can contain only letters, digits, '_', '-', '+', and '.'")
		}
		if len(errs) > 0 {
			message(c.w, http.StatusBadRequest, strings.Join(errs, " and "))
			return
		}
		d, secret := s.st.addDeployToken(kind, id, DeployTokenSpec{Name: c.p.str("name"), Username: username, Scopes: scopes, ExpiresAt: exp}, c.now)
		writeJSON(c.w, http.StatusCreated, deployTokenView(d, c.now, secret))
	})
}

// parseDateTime accepts what Grape's DateTime coercion does for our clients:
// RFC 3339 or a bare date (midnight UTC).
// optionalDateTime reads an optional date or time parameter: nil when absent
// or empty; a value parseDateTime refuses answers 400 "NAME is invalid" and
// gives false.
func (c *call) optionalDateTime(name string) (*time.Time, bool) {
	v, ok := c.p.get(name)
	if !ok || v == "" {
		return nil, true
	}
	t, err := parseDateTime(v)
	if err != nil {
		paramError(c.w, name+" is invalid")
		return nil, false
	}
	return &t, true
}

func parseDateTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, v)
}

// DeployTokenSpec describes a deploy token made through the fixture API.
type DeployTokenSpec struct {
	Name      string
	Username  string // "" → gitlab+deploy-token-N
	Scopes    []string
	CreatedAt time.Time  // zero → now
	ExpiresAt *time.Time // nil → never
	Revoked   bool
	Secret    string // "" → random gldt-…
}

func (st *store) addDeployToken(kind string, resID int64, spec DeployTokenSpec, now time.Time) (*deployToken, string) {
	d := &deployToken{ID: st.id("deploy_token"), Name: spec.Name, Username: spec.Username, Scopes: slices.Clone(spec.Scopes),
		CreatedAt: spec.CreatedAt, Revoked: spec.Revoked, ResourceType: kind, ResourceID: resID}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	if d.Username == "" {
		d.Username = "gitlab+deploy-token-" + strconv.FormatInt(d.ID, 10)
	}
	d.ExpiresAt = utcPtr(spec.ExpiresAt)
	secret := secretOr(spec.Secret, st.newDeploySecret)
	d.Digest = digest(secret)
	st.deployTokens = append(st.deployTokens, d)
	return d, secret
}

// DeployToken is a snapshot of a deploy token.
type DeployToken struct {
	ID           int64
	Name         string
	Username     string
	Scopes       []string
	ExpiresAt    *time.Time
	Revoked      bool
	ResourceType string
	ResourceID   int64
}

// CreateDeployToken adds a deploy token to a group or project.
func (s *Server) CreateDeployToken(kind string, resourceID int64, spec DeployTokenSpec) (DeployToken, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkResource(kind, resourceID); err != nil {
		return DeployToken{}, "", err
	}
	if len(spec.Scopes) == 0 {
		return DeployToken{}, "", errf("sim: a deploy token needs a scope")
	}
	for _, sc := range spec.Scopes {
		if !slices.Contains(DeployTokenScopes, sc) {
			return DeployToken{}, "", errf("sim: deploy token scope " + sc + " does not exist")
		}
	}
	d, secret := s.st.addDeployToken(kind, resourceID, spec, s.clock.Now())
	return deploySnap(d), secret, nil
}

// DeployTokens lists every deploy token, in id order.
func (s *Server) DeployTokens() []DeployToken {
	return snapshots(s, &s.st.deployTokens, deploySnap)
}

// snapshots copies *list out under the server's lock, each item through snap.
func snapshots[T, S any](s *Server, list *[]*T, snap func(*T) S) []S {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]S, 0, len(*list))
	for _, v := range *list {
		out = append(out, snap(v))
	}
	return out
}

// DeployTokenValid reports whether username and secret are a live deploy
// token with scope: what Git and the registry check (the username exactly,
// as Gitlab::Auth#deploy_token_check does; see gitcreds.go).
func (s *Server) DeployTokenValid(username, secret, scope string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.deployBySecret(secret, s.clock.Now())
	return d != nil && d.Username == username && slices.Contains(d.Scopes, scope)
}

func deploySnap(d *deployToken) DeployToken {
	out := DeployToken{ID: d.ID, Name: d.Name, Username: d.Username, Scopes: slices.Clone(d.Scopes),
		Revoked: d.Revoked, ResourceType: d.ResourceType, ResourceID: d.ResourceID}
	out.ExpiresAt = clonePtr(d.ExpiresAt)
	return out
}
