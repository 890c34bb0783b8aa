package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// call is one authenticated (or anonymous) API request being served.
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	user *user  // nil when anonymous
	tok  *token // the authenticating token
	// deploy is the authenticating deploy token, on the package
	// registry's endpoints only (mode authPackages).
	deploy *deployToken
	now    time.Time
	base   string // scheme://host of the instance, for web_url
	p      params
}

const (
	msgExpired = "Token is expired. You can either do re-authorization or token refresh."
	msgRevoked = "Token was revoked. You have to re-authorize from the user."
)

// onFound makes the handler of an endpoint on one object: find resolves it
// from the call, answering the request itself (404, 403 …) and giving nil
// when there is none to serve; serve answers with it.
func onFound[T any](find func(*call) *T, serve func(*call, *T)) func(*call) {
	return func(c *call) {
		if v := find(c); v != nil {
			serve(c, v)
		}
	}
}

func (c *call) unauthorized() { message(c.w, http.StatusUnauthorized, "401 Unauthorized") }

func (c *call) invalidToken(desc string) {
	c.w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="%s"`, desc))
	writeJSON(c.w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
}

func (c *call) insufficientScope(scopes []string) {
	writeJSON(c.w, http.StatusForbidden, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Scope            string `json:"scope"`
	}{"insufficient_scope", "The request requires higher privileges than provided by the access token.", strings.Join(scopes, " ")})
}

func (c *call) admin() bool { return c.user != nil && c.user.Admin }

// tokenFromRequest reads PRIVATE-TOKEN or Authorization: Bearer.
func tokenFromRequest(r *http.Request) string {
	if t := r.Header.Get("PRIVATE-TOKEN"); t != "" {
		return t
	}
	return bearer(r)
}

// bearer is the token of an Authorization: Bearer header, or "".
func bearer(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// rotatePath is GitLab's access_token_rotation_request? (lib/gitlab/auth/
// auth_finders.rb): it has no leading slash, so personal_access_tokens/…
// matches as well as group and project access_tokens/….
var rotatePath = regexp.MustCompile(`access_tokens/(\d+|self)/rotate$`)

// handle registers fn behind authentication, rate limiting and scope checks.
// The store lock is held for the whole request.
func (s *Server) handle(pattern string, mode access, scopes []string, fn func(*call)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c := &call{s: s, w: w, r: r, now: s.clock.Now(), base: baseURL(r)}
		secret := tokenFromRequest(r)
		if mode == authPackages {
			if c.deploy = s.st.deployBySecret(packageDeploySecret(r), c.now); c.deploy != nil {
				s.serveCall(c, fn)
				return
			}
			secret = packagePATSecret(r, s.st)
		}
		if secret == "" && mode == authRequired {
			c.unauthorized()
			return
		}
		if secret != "" {
			id, ok := s.st.byDigest[digest(secret)]
			if !ok {
				c.unauthorized()
				return
			}
			t := s.st.token(id)
			switch {
			case !s.st.listed(t, c.now):
				// Its bot user is deleted: GitLab no longer knows the token.
				c.unauthorized()
				return
			case t.expired(c.now):
				c.invalidToken(msgExpired)
				return
			case t.Revoked:
				if rotatePath.MatchString(r.URL.Path) {
					s.revokeDescendants(t, c.now)
				}
				c.invalidToken(msgRevoked)
				return
			}
			c.tok, c.user = t, s.st.users[t.UserID]
			if !s.limiter.allow(w, c.user.ID, c.now) {
				s.throttled.Add(1)
				return
			}
			if c.user.Admin {
				s.adminRequests.Add(1)
			}
			if !scopeAllows(t.Scopes, scopes, r.Method) {
				c.insufficientScope(scopes)
				return
			}
			t.touch(c.now)
		}
		s.serveCall(c, fn)
	})
}

// scopeAllows: read_api and read_user only allow reads; any other accepted
// scope allows everything.
func scopeAllows(have, accepted []string, method string) bool {
	read := method == http.MethodGet || method == http.MethodHead
	for _, sc := range have {
		if !slices.Contains(accepted, sc) {
			continue
		}
		if read || (sc != "read_api" && sc != "read_user") {
			return true
		}
	}
	return false
}

// revokeDescendants is GitLab's token reuse detection: presenting a revoked
// token to a rotate endpoint revokes every active (neither revoked nor
// expired) token rotated from it (PersonalAccessTokens::
// RevokeTokenFamilyService: pat_family.active.update_all(revoked: true)).
func (s *Server) revokeDescendants(t *token, now time.Time) {
	for _, d := range s.st.tokens {
		for a := d; a.PreviousID != 0; a = s.st.token(a.PreviousID) {
			if a.PreviousID == t.ID {
				if !d.Revoked && !d.expired(now) {
					d.Revoked, d.RevokedAt = true, now
				}
				break
			}
		}
	}
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// params are the request's parameters from query, form or JSON body, as Grape
// merges them.
type params struct {
	v    map[string][]string
	null map[string]bool
}

func parseParams(r *http.Request) (params, error) {
	p := params{v: map[string][]string{}, null: map[string]bool{}}
	for k, vs := range r.URL.Query() {
		p.v[strings.TrimSuffix(k, "[]")] = append(p.v[strings.TrimSuffix(k, "[]")], vs...)
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return p, nil
	}
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") {
		var m map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil && err.Error() != "EOF" {
			return p, fmt.Errorf("invalid JSON body")
		}
		flatten(p, "", m)
		return p, nil
	}
	if err := r.ParseForm(); err != nil {
		return p, fmt.Errorf("invalid form body")
	}
	for k, vs := range r.PostForm {
		k = strings.TrimSuffix(k, "[]")
		p.v[k] = append(p.v[k], vs...)
	}
	return p, nil
}

func flatten(p params, prefix string, m map[string]any) {
	for k, v := range m {
		if prefix != "" {
			k = prefix + "[" + k + "]"
		}
		switch v := v.(type) {
		case nil:
			p.null[k] = true
		case map[string]any:
			flatten(p, k, v)
		case []any:
			p.v[k] = []string{}
			for _, e := range v {
				p.v[k] = append(p.v[k], scalar(e))
			}
		default:
			p.v[k] = []string{scalar(v)}
		}
	}
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

func (p params) get(k string) (string, bool) {
	vs, ok := p.v[k]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (p params) str(k string) string { v, _ := p.get(k); return v }

// list returns an array parameter; "a,b" and repeated keys both work.
func (p params) list(k string) ([]string, bool) {
	vs, ok := p.v[k]
	if !ok {
		return nil, false
	}
	var out []string
	for _, v := range vs {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out, true
}

// boolean parses a Grape Boolean; ok is false when present but invalid.
func (p params) boolean(k string) (val, present, ok bool) {
	v, present := p.get(k)
	if !present {
		return false, false, true
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "t":
		return true, true, true
	case "false", "0", "no", "f":
		return false, true, true
	}
	return false, true, false
}

// serveCall parses the request's parameters and runs fn.
func (s *Server) serveCall(c *call, fn func(*call)) {
	p, err := parseParams(c.r)
	if err != nil {
		message(c.w, http.StatusBadRequest, "400 Bad request - "+err.Error())
		return
	}
	c.p = p
	fn(c)
}
