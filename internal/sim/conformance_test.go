package sim

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	body401      = `{"message":"401 Unauthorized"}`
	bodyExpired  = `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`
	bodyRevoked  = `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`
	wwwExpired   = `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh."`
	wwwRevoked   = `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token was revoked. You have to re-authorize from the user."`
	bodyScopeAPI = `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`
)

// step is one request of a conformance table. Steps run in order against one
// instance, so later steps see earlier changes.
type step struct {
	name     string
	method   string
	path     string // below /api/v4 (or /-/sim/…)
	token    string
	body     string
	code     int
	want     string            // exact body, when set
	contains []string          // substrings of the body
	absent   []string          // must not be in the body
	header   map[string]string // exact header values ("" = must be empty or missing)
	noHeader []string          // headers that must be missing
	basic    string            // HTTP Basic "username:password", when set
	send     map[string]string // request headers
}

func runSteps(t *testing.T, base string, steps []step) {
	t.Helper()
	for _, st := range steps {
		method := st.method
		if method == "" {
			method = "GET"
		}
		url := base + "/api/v4" + st.path
		if strings.HasPrefix(st.path, "/-/") || strings.HasPrefix(st.path, "/jwt/") || strings.Contains(st.path, ".git/") {
			url = base + st.path
		}
		r := doWith(t, method, url, st.token, st.body, st.basic, st.send)
		if r.code != st.code {
			t.Errorf("%s: %s %s = %d, want %d\n%s", st.name, method, st.path, r.code, st.code, r.body)
			continue
		}
		if st.want != "" && r.body != st.want {
			t.Errorf("%s: body\n got %s\nwant %s", st.name, r.body, st.want)
		}
		for _, c := range st.contains {
			if !strings.Contains(r.body, c) {
				t.Errorf("%s: body lacks %s\n%s", st.name, c, r.body)
			}
		}
		for _, c := range st.absent {
			if strings.Contains(r.body, c) {
				t.Errorf("%s: body has %s\n%s", st.name, c, r.body)
			}
		}
		for k, v := range st.header {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: header %s = %q, want %q", st.name, k, got, v)
			}
		}
		for _, k := range st.noHeader {
			if _, ok := r.header[k]; ok {
				t.Errorf("%s: header %s present: %q", st.name, k, r.header.Get(k))
			}
		}
	}
}

func TestConformanceAuth(t *testing.T) {
	_, base, _ := newConformance(t, Options{})
	runSteps(t, base, []step{
		{name: "no token on protected endpoint", path: "/groups/1", code: 401, want: body401, noHeader: []string{"Www-Authenticate"}},
		{name: "no token on GET /groups lists public groups only", path: "/groups", code: 200, want: `[]`},
		{name: "bad token on public GET", path: "/groups", token: "glpat-nope", code: 401, want: body401, noHeader: []string{"Www-Authenticate"}},
		{name: "expired token", path: "/groups/1", token: expSecret, code: 401, want: bodyExpired, header: map[string]string{"WWW-Authenticate": wwwExpired}},
		{name: "revoked token", path: "/groups/1", token: revSecret, code: 401, want: bodyRevoked, header: map[string]string{"WWW-Authenticate": wwwRevoked}},
		{name: "expired wins over revoked", path: "/user", token: bothSecret, code: 401, want: bodyExpired},
		{name: "bearer header", path: "/groups/1", token: "Bearer " + aliceSecret, code: 200, contains: []string{`"full_path":"platform"`}},
		{name: "read_api cannot POST", method: "POST", path: "/groups/1/access_tokens", token: aliceRead, body: `{"name":"x","scopes":["api"]}`, code: 403, want: bodyScopeAPI, noHeader: []string{"Www-Authenticate"}},
		{name: "read_api can GET", path: "/groups/1/access_tokens", token: aliceRead, code: 200},
		{name: "read_repository cannot GET /user", path: "/user", token: aliceRepo, code: 403,
			want: `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user api read_api"}`},
		{name: "user without is_admin", path: "/user", token: aliceSecret, code: 200, contains: []string{`"username":"alice"`, `"bot":false`}, absent: []string{"is_admin"}},
		{name: "admin sees is_admin", path: "/user", token: rootSecret, code: 200, contains: []string{`"is_admin":true`}},
		{name: "users by username", path: "/users?username=bob", token: aliceSecret, code: 200, contains: []string{`"username":"bob"`}, absent: []string{"alice"}},
		{name: "unknown user", path: "/users/999", token: aliceSecret, code: 404, want: `{"message":"404 User Not Found"}`},
		{name: "version needs auth", path: "/version", code: 401, want: body401},
		{name: "version", path: "/version", token: aliceRead, code: 200, contains: []string{`"version":"`, `"kas":{`, `"enterprise":true`}},
		{name: "metadata", path: "/metadata", token: aliceSecret, code: 200, contains: []string{`"revision":"`}},
		{name: "unknown route", path: "/nope", token: aliceSecret, code: 404, want: `{"error":"404 Not Found"}`},
	})
}

func TestConformanceGroupsAndProjects(t *testing.T) {
	_, base, _ := newConformance(t, Options{})
	runSteps(t, base, []step{
		{name: "member sees group and subgroup", path: "/groups", token: bobSecret, code: 200, contains: []string{`"full_path":"platform"`, `"full_path":"platform/infra"`}},
		{name: "top_level_only", path: "/groups?top_level_only=true", token: bobSecret, code: 200, absent: []string{`platform/infra`}},
		{name: "search", path: "/groups?search=infr", token: rootSecret, code: 200, contains: []string{`"path":"infra"`}, absent: []string{`"path":"platform"`}},
		{name: "non-member sees nothing", path: "/groups", token: daveSecret, code: 200, want: `[]`},
		{name: "non-member gets 404", path: "/groups/1", token: daveSecret, code: 404, want: `{"message":"404 Group Not Found"}`},
		{name: "unknown group", path: "/groups/nope", token: rootSecret, code: 404, want: `{"message":"404 Group Not Found"}`},
		{name: "group by encoded full path", path: "/groups/platform%2Finfra", token: aliceSecret, code: 200, contains: []string{`"id":2`, `"parent_id":1`, `"full_name":"Platform / infra"`}},
		{name: "project member sees ancestors", path: "/groups/1", token: carolSecret, code: 200},
		{name: "subgroups", path: "/groups/1/subgroups", token: aliceSecret, code: 200, contains: []string{`"full_path":"platform/infra"`}},
		{name: "descendant_groups", path: "/groups/1/descendant_groups", token: aliceSecret, code: 200, contains: []string{`"id":2`}},
		{name: "group projects without subgroups", path: "/groups/1/projects", token: aliceSecret, code: 200, want: `[]`},
		{name: "group projects with subgroups", path: "/groups/1/projects?include_subgroups=true", token: aliceSecret, code: 200,
			contains: []string{`"path_with_namespace":"platform/infra/app"`, `"namespace":{"id":2,"name":"infra","path":"infra","kind":"group","full_path":"platform/infra"`}},
		{name: "project by path", path: "/projects/platform%2Finfra%2Fapp", token: carolSecret, code: 200, contains: []string{`"id":1`}},
		{name: "project invisible to non-member", path: "/projects/1", token: daveSecret, code: 404, want: `{"message":"404 Project Not Found"}`},
		{name: "admin creates group", method: "POST", path: "/groups", token: rootSecret, body: `{"name":"Security","path":"security"}`, code: 201,
			contains: []string{`"id":3`, `"full_path":"security"`, `"parent_id":null`, `"created_at":"2026-11-25T12:00:00.000Z"`}},
		{name: "admin creates subgroup", method: "POST", path: "/groups", token: rootSecret, body: `{"name":"Audit","path":"audit","parent_id":3}`, code: 201, contains: []string{`"full_path":"security/audit"`}},
		{name: "group path taken", method: "POST", path: "/groups", token: rootSecret, body: `{"name":"Security","path":"security"}`, code: 400, want: `{"message":{"path":["has already been taken"]}}`},
		{name: "group params missing", method: "POST", path: "/groups", token: rootSecret, body: `{}`, code: 400, want: `{"error":"name is missing, path is missing"}`},
		{name: "developer cannot create subgroup", method: "POST", path: "/groups", token: bobSecret, body: `{"name":"x","path":"x","parent_id":1}`, code: 403},
		{name: "admin creates project", method: "POST", path: "/projects", token: rootSecret, body: `{"name":"Tool","path":"tool","namespace_id":4}`, code: 201, contains: []string{`"path_with_namespace":"security/audit/tool"`}},
	})
}

func TestConformanceAccessTokens(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	runSteps(t, base, []step{
		{name: "owner lists", path: "/groups/1/access_tokens", token: aliceSecret, code: 200,
			want:   `[{"id":11,"name":"platform-bot","description":"deploys","revoked":false,"created_at":"2026-01-01T00:00:00.000Z","scopes":["api"],"user_id":6,"last_used_at":null,"active":true,"expired":false,"expires_at":"2026-12-31","access_level":40,"resource_type":"group","resource_id":1}]`,
			header: map[string]string{"X-Total": "1", "X-Page": "1", "X-Next-Page": "", "X-Prev-Page": ""}},
		{name: "developer cannot list", path: "/groups/1/access_tokens", token: bobSecret, code: 401, want: body401},
		{name: "developer cannot create", method: "POST", path: "/groups/1/access_tokens", token: bobSecret, body: `{"name":"x","scopes":["api"]}`, code: 400,
			want: `{"message":"400 Bad request - User does not have permission to create group access token"}`},
		{name: "bad state", path: "/groups/1/access_tokens?state=foo", token: aliceSecret, code: 400, want: `{"error":"state does not have a valid value"}`},
		{name: "missing name and scopes", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{}`, code: 400, want: `{"error":"name is missing, scopes is missing"}`},
		{name: "missing scopes", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"x"}`, code: 400, want: `{"error":"scopes is missing"}`},
		{name: "bad scope", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"x","scopes":["sudo"]}`, code: 400, want: `{"error":"scopes does not have a valid value"}`},
		{name: "bad access level", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"x","scopes":["api"],"access_level":45}`, code: 400, want: `{"error":"access_level does not have a valid value"}`},
		{name: "too late expiry", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"x","scopes":["api"],"expires_at":"2027-11-26"}`, code: 400,
			want: `{"message":"400 Bad request - Expires at must be before 2027-11-25"}`},
		{name: "create with defaults (+365, level 40)", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"ci","scopes":["read_api"]}`, code: 201,
			contains: []string{`"id":13,`, `"name":"ci"`, `"expires_at":"2027-11-25"`, `"access_level":40`, `"created_at":"2026-11-25T12:00:00.000Z"`, `"token":"glpat-`, `"resource_type":"group","resource_id":1`}},
		{name: "the max date itself is accepted", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"max","scopes":["api"],"expires_at":"2027-11-25","access_level":50}`, code: 201},
		{name: "get", path: "/groups/1/access_tokens/13", token: aliceSecret, code: 200, contains: []string{`"id":13`}, absent: []string{`"token"`}},
		{name: "get unknown", path: "/groups/1/access_tokens/999", token: aliceSecret, code: 404, want: `{"message":"404 group Access Token Not Found"}`},
		{name: "get token of other resource", path: "/groups/1/access_tokens/12", token: aliceSecret, code: 404, want: `{"message":"404 group Access Token Not Found"}`},
		{name: "rotate default +7 days", method: "POST", path: "/groups/1/access_tokens/13/rotate", token: aliceSecret, code: 200,
			contains: []string{`"id":15,`, `"name":"ci"`, `"expires_at":"2026-12-02"`, `"token":"glpat-`, `"access_level":40`}},
		{name: "old token revoked at once", path: "/groups/1/access_tokens/13", token: aliceSecret, code: 200, contains: []string{`"revoked":true`, `"active":false`}},
		{name: "rotate revoked", method: "POST", path: "/groups/1/access_tokens/13/rotate", token: aliceSecret, code: 400, want: `{"message":"400 Bad request - Token already revoked"}`},
		{name: "rotate with expires_at", method: "POST", path: "/groups/1/access_tokens/15/rotate", token: aliceSecret, body: `{"expires_at":"2027-01-15"}`, code: 200, contains: []string{`"expires_at":"2027-01-15"`, `"id":16,`}},
		{name: "rotate unknown (non-admin)", method: "POST", path: "/groups/1/access_tokens/999/rotate", token: aliceSecret, code: 401, want: body401},
		{name: "rotate unknown (admin)", method: "POST", path: "/groups/1/access_tokens/999/rotate", token: rootSecret, code: 404, want: `{"message":"404 Not Found"}`},
		{name: "rotate without permission", method: "POST", path: "/groups/1/access_tokens/16/rotate", token: bobSecret, code: 401, want: body401},
		{name: "self-rotate by a human", method: "POST", path: "/groups/1/access_tokens/self/rotate", token: aliceSecret, code: 405, want: `{"message":"405 Method Not Allowed"}`},
		{name: "bot lists its group's tokens", path: "/groups/1/access_tokens?state=active", token: botSecret, code: 200, contains: []string{`"id":11`, `"id":14`, `"id":16`}, absent: []string{`"id":13`}},
		{name: "bot cannot create", method: "POST", path: "/groups/1/access_tokens", token: botSecret, body: `{"name":"x","scopes":["api"]}`, code: 400,
			want: `{"message":"400 Bad request - User does not have permission to create group access token"}`},
		{name: "bot cannot rotate another", method: "POST", path: "/groups/1/access_tokens/16/rotate", token: botSecret, code: 401, want: body401},
		{name: "bot self-rotates in other group", method: "POST", path: "/projects/1/access_tokens/self/rotate", token: botSecret, code: 401, want: body401},
		{name: "bot self-rotates", method: "POST", path: "/groups/platform/access_tokens/self/rotate", token: botSecret, code: 200,
			contains: []string{`"name":"platform-bot"`, `"description":"deploys"`, `"user_id":6`, `"expires_at":"2026-12-02"`}},
		{name: "inactive lists revoked", path: "/groups/1/access_tokens?state=inactive", token: aliceSecret, code: 200, contains: []string{`"id":11`, `"id":13`, `"id":15`}, absent: []string{`"id":16`}},
		{name: "revoked filter", path: "/groups/1/access_tokens?revoked=false&search=CI", token: aliceSecret, code: 200, contains: []string{`"id":16`}, absent: []string{`"id":14`, `"id":15`}},
		{name: "sort", path: "/groups/1/access_tokens?sort=name_desc&per_page=1", token: aliceSecret, code: 200, contains: []string{`"name":"platform-bot"`}},
		{name: "bad sort", path: "/groups/1/access_tokens?sort=size", token: aliceSecret, code: 400, want: `{"error":"sort does not have a valid value"}`},
		{name: "developer cannot revoke", method: "DELETE", path: "/groups/1/access_tokens/16", token: bobSecret, code: 400, want: `{"message":"400 Bad request - Bob cannot delete ci"}`},
		{name: "revoke", method: "DELETE", path: "/groups/1/access_tokens/16", token: aliceSecret, code: 204, want: ""},
		{name: "revoke unknown", method: "DELETE", path: "/groups/1/access_tokens/999", token: aliceSecret, code: 404, want: `{"message":"404 group Access Token Not Found"}`},
		{name: "maintainer creates project token", method: "POST", path: "/projects/1/access_tokens", token: carolSecret, body: `{"name":"p","scopes":["api"],"access_level":30}`, code: 201, contains: []string{`"resource_type":"project"`}},
		{name: "maintainer cannot create owner token", method: "POST", path: "/projects/1/access_tokens", token: carolSecret, body: `{"name":"p","scopes":["api"],"access_level":50}`, code: 400,
			want: `{"message":"400 Bad request - Access level of the token contains permissions not held by the creating user"}`},
		{name: "inherited owner manages project tokens", path: "/projects/1/access_tokens", token: aliceSecret, code: 200, contains: []string{`"name":"app-bot"`}},
		{name: "project token unknown", path: "/projects/1/access_tokens/999", token: aliceSecret, code: 404, want: `{"message":"404 project Access Token Not Found"}`},
		{name: "PAT self works for bot tokens", path: "/personal_access_tokens/self", token: appBotSecret, code: 200, contains: []string{`"name":"app-bot"`}, absent: []string{"access_level", "resource_type"}},
	})
	// The bot users really are bots with the token name and a member at the token's level.
	tok, _ := s.Token(11)
	u, _ := s.User(tok.UserID)
	if !u.Bot || u.Name != "platform-bot" || !strings.HasPrefix(u.Username, "group_1_bot_") || len(u.Username) != len("group_1_bot_")+32 || u.Email != u.Username+"@noreply.gitlab.example.com" {
		t.Errorf("bot user = %+v", u)
	}
}

func TestConformanceExpiryAndReuse(t *testing.T) {
	s, base, fake := newConformance(t, Options{})
	exp := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	_, secret := platformToken(t, s, TokenSpec{Name: "short", Scopes: []string{"api"}, ExpiresAt: &exp})
	fake.Set(time.Date(2026, 11, 25, 23, 59, 59, 0, time.UTC))
	runSteps(t, base, []step{{name: "valid until midnight", path: "/personal_access_tokens/self", token: secret, code: 200,
		contains: []string{`"active":true`, `"last_used_at":"2026-11-25T23:59:59.000Z"`}}})
	fake.Advance(time.Second)
	runSteps(t, base, []step{
		{name: "expired at 00:00 UTC of expires_at", path: "/personal_access_tokens/self", token: secret, code: 401, want: bodyExpired},
		{name: "expired today is in neither state", path: "/groups/1/access_tokens?state=active&search=short", token: aliceSecret, code: 200, want: `[]`},
		{name: "…nor inactive", path: "/groups/1/access_tokens?state=inactive&search=short", token: aliceSecret, code: 200, want: `[]`},
		{name: "but listed as expired", path: "/groups/1/access_tokens?search=short", token: aliceSecret, code: 200, contains: []string{`"expired":true`, `"active":false`}},
	})

	// last_used_at is written at most every 10 minutes.
	runSteps(t, base, []step{{name: "use", path: "/user", token: bobSecret, code: 200}})
	fake.Advance(5 * time.Minute)
	runSteps(t, base, []step{{name: "use again", path: "/personal_access_tokens/self", token: bobSecret, code: 200, contains: []string{`"last_used_at":"2026-11-26T00:00:00.000Z"`}}})
	fake.Advance(6 * time.Minute)
	runSteps(t, base, []step{{name: "after 11 minutes", path: "/personal_access_tokens/self", token: bobSecret, code: 200, contains: []string{`"last_used_at":"2026-11-26T00:11:00.000Z"`}}})

	// Reuse detection: a revoked token presented to rotate revokes its descendants.
	first := do(t, "POST", base+"/api/v4/groups/1/access_tokens/self/rotate", botSecret, "")
	if first.code != 200 {
		t.Fatalf("self rotate: %d %s", first.code, first.body)
	}
	runSteps(t, base, []step{
		{name: "reuse of the rotated token", method: "POST", path: "/groups/1/access_tokens/self/rotate", token: botSecret, code: 401, want: bodyRevoked},
	})
	for _, tk := range s.Tokens() {
		if tk.ResourceType == "group" && tk.Name == "platform-bot" && !tk.Revoked {
			t.Errorf("descendant %d still active after reuse", tk.ID)
		}
	}
}

func TestConformanceExpiryNotRequired(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	s.SetRequireExpiry(false)
	runSteps(t, base, []step{
		{name: "create without expiry", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"forever","scopes":["api"]}`, code: 201, contains: []string{`"id":13,`, `"expires_at":null`}},
		{name: "rotate without expiry", method: "POST", path: "/groups/1/access_tokens/13/rotate", token: aliceSecret, code: 200, contains: []string{`"expires_at":null`}},
		{name: "the maximum still applies", method: "POST", path: "/groups/1/access_tokens", token: aliceSecret, body: `{"name":"x","scopes":["api"],"expires_at":"2028-01-01"}`, code: 400},
		{name: "PAT rotate by id", method: "POST", path: "/personal_access_tokens/2/rotate", token: aliceSecret, body: `{"expires_at":"2027-02-01"}`, code: 200, contains: []string{`"name":"laptop"`, `"expires_at":"2027-02-01"`}},
		{name: "PAT rotate of another user's", method: "POST", path: "/personal_access_tokens/3/rotate", token: bobSecret, code: 404, want: `{"message":"404 Not Found"}`},
	})
}

func TestConformancePagination(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	p, _ := s.ProjectByPath("platform/infra/app")
	for i := range 44 {
		if _, _, err := s.CreateAccessToken("project", p.ID, TokenSpec{Name: "t" + string(rune('a'+i%26)), Scopes: []string{"read_api"}}); err != nil {
			t.Fatal(err)
		}
	}
	link := func(page, per int, rel string) string {
		return "<" + base + "/api/v4/projects/1/access_tokens?page=" + itoa(page) + "&per_page=" + itoa(per) + `>; rel="` + rel + `"`
	}
	runSteps(t, base, []step{
		{name: "default per_page 20, first page", path: "/projects/1/access_tokens", token: aliceSecret, code: 200, header: map[string]string{
			"X-Total": "45", "X-Total-Pages": "3", "X-Per-Page": "20", "X-Page": "1", "X-Next-Page": "2", "X-Prev-Page": "",
			"Link": link(2, 20, "next") + ", " + link(1, 20, "first") + ", " + link(3, 20, "last")}},
		{name: "middle page", path: "/projects/1/access_tokens?page=2", token: aliceSecret, code: 200, header: map[string]string{
			"X-Next-Page": "3", "X-Prev-Page": "1",
			"Link": link(1, 20, "prev") + ", " + link(3, 20, "next") + ", " + link(1, 20, "first") + ", " + link(3, 20, "last")}},
		{name: "last page", path: "/projects/1/access_tokens?page=3", token: aliceSecret, code: 200, header: map[string]string{"X-Next-Page": "", "X-Prev-Page": "2"}},
		{name: "past the end", path: "/projects/1/access_tokens?page=9", token: aliceSecret, code: 200, want: `[]`},
		{name: "per_page capped at 100", path: "/projects/1/access_tokens?per_page=500", token: aliceSecret, code: 200, header: map[string]string{"X-Per-Page": "100", "X-Total-Pages": "1"}},
		{name: "bad page", path: "/projects/1/access_tokens?page=x", token: aliceSecret, code: 400, want: `{"error":"page is invalid"}`},
	})
	r := do(t, "GET", base+"/api/v4/projects/1/access_tokens?per_page=100", aliceSecret, "")
	if n := strings.Count(r.body, `"id":`); n != 45 {
		t.Errorf("per_page=100 returned %d tokens, want 45", n)
	}
}

func TestConformanceOverTenThousand(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	for range countLimit + 1 - 10 { // the fixture already has 10 personal tokens
		if _, _, err := s.CreatePersonalToken(1, TokenSpec{Name: "bulk", Scopes: []string{"api"}}); err != nil {
			t.Fatal(err)
		}
	}
	runSteps(t, base, []step{{name: "no totals over 10,000", path: "/personal_access_tokens?per_page=1", token: rootSecret, code: 200,
		noHeader: []string{"X-Total", "X-Total-Pages"}, header: map[string]string{"X-Next-Page": "2"}, absent: []string{}}})
	r := do(t, "GET", base+"/api/v4/personal_access_tokens?per_page=1", rootSecret, "")
	if strings.Contains(r.header.Get("Link"), `rel="last"`) || !strings.Contains(r.header.Get("Link"), `rel="first"`) {
		t.Errorf("Link = %s", r.header.Get("Link"))
	}
}

func TestConformancePersonalTokens(t *testing.T) {
	_, base, _ := newConformance(t, Options{})
	runSteps(t, base, []step{
		{name: "own tokens only", path: "/personal_access_tokens", token: bobSecret, code: 200, contains: []string{`"name":"b"`}, absent: []string{`"name":"laptop"`}},
		{name: "other user's tokens", path: "/personal_access_tokens?user_id=2", token: bobSecret, code: 401, want: body401},
		{name: "admin sees all incl. bots", path: "/personal_access_tokens?per_page=100", token: rootSecret, code: 200, contains: []string{`"name":"laptop"`, `"name":"platform-bot"`}},
		{name: "admin filters by user", path: "/personal_access_tokens?user_id=3", token: rootSecret, code: 200, contains: []string{`"name":"b"`}, absent: []string{`"name":"laptop"`}},
		{name: "state filter", path: "/personal_access_tokens?state=inactive", token: aliceSecret, code: 200, contains: []string{`"name":"gone"`, `"name":"both"`}, absent: []string{`"name":"laptop"`}},
		{name: "self", path: "/personal_access_tokens/self", token: aliceRepo, code: 200, contains: []string{`"name":"repo"`, `"scopes":["read_repository"]`}},
		{name: "by id not mine", path: "/personal_access_tokens/2", token: bobSecret, code: 404, want: `{"message":"404 Not Found"}`},
		{name: "revoke not mine", method: "DELETE", path: "/personal_access_tokens/2", token: bobSecret, code: 400, want: `{"message":"400 Bad request"}`},
		{name: "self rotate", method: "POST", path: "/personal_access_tokens/self/rotate", token: bobSecret, code: 200, contains: []string{`"name":"b"`, `"expires_at":"2026-12-02"`, `"token":"glpat-`}},
		{name: "rotated token is revoked", path: "/user", token: bobSecret, code: 401, want: bodyRevoked},
		{name: "self rotate needs api/self_rotate", method: "POST", path: "/personal_access_tokens/self/rotate", token: aliceRead, code: 403,
			want: `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api self_rotate"}`},
		{name: "associations", path: "/personal_access_tokens/self/associations", token: carolSecret, code: 200, contains: []string{`"path_with_namespace":"platform/infra/app"`, `"project_access_level":40`}},
		{name: "delete self", method: "DELETE", path: "/personal_access_tokens/self", token: daveSecret, code: 204},
		{name: "deleted self is revoked", path: "/user", token: daveSecret, code: 401, want: bodyRevoked},
		{name: "admin revokes any", method: "DELETE", path: "/personal_access_tokens/4", token: rootSecret, code: 204},
		{name: "unknown", method: "DELETE", path: "/personal_access_tokens/999", token: rootSecret, code: 404, want: `{"message":"404 Not Found"}`},
	})
}

func TestConformanceVariables(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	runSteps(t, base, []step{
		{name: "create", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{"key":"TOKEN","value":"glpat-abcdefgh","masked":true,"protected":true}`, code: 201,
			want: `{"variable_type":"env_var","key":"TOKEN","value":"glpat-abcdefgh","hidden":false,"protected":true,"masked":true,"raw":false,"environment_scope":"*","description":null}`},
		{name: "duplicate key+scope", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{"key":"TOKEN","value":"x"}`, code: 400, want: `{"message":{"key":["(TOKEN) has already been taken"]}}`},
		{name: "same key other scope", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{"key":"TOKEN","value":"y","environment_scope":"production"}`, code: 201},
		{name: "multiple scopes need a filter", path: "/projects/1/variables/TOKEN", token: carolSecret, code: 409,
			want: `{"message":"There are multiple variables with provided parameters. Please use 'filter[environment_scope]'"}`},
		{name: "filter", path: "/projects/1/variables/TOKEN?filter[environment_scope]=production", token: carolSecret, code: 200, contains: []string{`"value":"y"`}},
		{name: "bad key", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{"key":"MY-KEY","value":"x"}`, code: 400, want: `{"message":{"key":["can contain only letters, digits and '_'."]}}`},
		{name: "masked value too short", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{"key":"M","value":"short","masked":true}`, code: 400, want: `{"message":{"value":["is invalid"]}}`},
		{name: "masked value bad char", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{"key":"M","value":"has space inside","masked":true}`, code: 400, want: `{"message":{"value":["is invalid"]}}`},
		{name: "raw masked allows any non-space", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{"key":"M","value":"a$b%c^d&e","masked":true,"raw":true}`, code: 201},
		{name: "missing key and value", method: "POST", path: "/projects/1/variables", token: carolSecret, body: `{}`, code: 400, want: `{"error":"key is missing, value is missing"}`},
		{name: "hidden", method: "POST", path: "/groups/1/variables", token: aliceSecret, body: `{"key":"H","value":"secret-value","masked_and_hidden":true}`, code: 201,
			want: `{"variable_type":"env_var","key":"H","value":null,"hidden":true,"protected":false,"masked":true,"raw":false,"environment_scope":"*","description":null}`},
		{name: "hidden cannot be unmasked", method: "PUT", path: "/groups/1/variables/H", token: aliceSecret, body: `{"masked":false}`, code: 400,
			want: `{"message":{"base":["The visibility setting cannot be changed for masked and hidden variables."]}}`},
		{name: "hidden value updated", method: "PUT", path: "/groups/1/variables/H", token: aliceSecret, body: `{"value":"another-secret"}`, code: 200, contains: []string{`"value":null`}},
		{name: "group variable missing", path: "/groups/1/variables/NOPE", token: aliceSecret, code: 404, want: `{"message":"404 GroupVariable Not Found"}`},
		{name: "project variable missing", path: "/projects/1/variables/NOPE", token: carolSecret, code: 404, want: `{"message":"404 Variable Not Found"}`},
		{name: "developer cannot read variables", path: "/groups/1/variables", token: bobSecret, code: 403},
		{name: "update with filter", method: "PUT", path: "/projects/1/variables/TOKEN?filter[environment_scope]=production", token: carolSecret, body: `{"value":"zzzzzzzz","protected":true}`, code: 200, contains: []string{`"value":"zzzzzzzz"`, `"protected":true`}},
		{name: "list", path: "/projects/1/variables", token: carolSecret, code: 200, contains: []string{`"key":"TOKEN"`, `"key":"M"`}, header: map[string]string{"X-Total": "3"}},
		{name: "delete needs filter", method: "DELETE", path: "/projects/1/variables/TOKEN", token: carolSecret, code: 409},
		{name: "delete", method: "DELETE", path: "/projects/1/variables/TOKEN?filter[environment_scope]=*", token: carolSecret, code: 204},
	})
	if v, ok := s.Variable("group", 1, "H", "*"); !ok || v.Value != "another-secret" || !v.Hidden {
		t.Errorf("hidden variable = %+v, %v", v, ok)
	}
	if _, ok := s.Variable("project", 1, "TOKEN", "*"); ok {
		t.Error("deleted variable still there")
	}
}

func TestConformanceRateLimit(t *testing.T) {
	_, base, fake := newConformance(t, Options{RateLimit: 3})
	fake.Set(time.Date(2026, 11, 25, 12, 0, 15, 0, time.UTC))
	runSteps(t, base, []step{
		{name: "1", path: "/user", token: aliceSecret, code: 200, header: map[string]string{"RateLimit-Limit": "3", "RateLimit-Observed": "1", "RateLimit-Remaining": "2",
			"RateLimit-Name": "throttle_authenticated_api", "RateLimit-Reset": itoa64(time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC).Unix())}},
		{name: "other user has own budget", path: "/user", token: bobSecret, code: 200, header: map[string]string{"RateLimit-Observed": "1"}},
		{name: "2", path: "/user", token: aliceSecret, code: 200},
		{name: "3", path: "/user", token: aliceRead, code: 200, header: map[string]string{"RateLimit-Remaining": "0"}},
		{name: "over", path: "/user", token: aliceSecret, code: 429, want: "Retry later\n", header: map[string]string{
			"Retry-After": "45", "RateLimit-ResetTime": "Wed, 25 Nov 2026 12:01:00 GMT", "RateLimit-Observed": "4", "RateLimit-Remaining": "0"}},
	})
	fake.Advance(45 * time.Second)
	runSteps(t, base, []step{{name: "next window", path: "/user", token: aliceSecret, code: 200, header: map[string]string{"RateLimit-Observed": "1"}}})
}

func TestSimAdminEndpoints(t *testing.T) {
	s, base, fake := newConformance(t, Options{})
	runSteps(t, base, []step{
		{name: "stats need root", path: "/-/sim/stats", token: aliceSecret, code: 401},
		{name: "stats", path: "/-/sim/stats", token: rootSecret, code: 200, contains: []string{`"groups":2`, `"projects":1`, `"group_tokens":1`, `"project_tokens":1`, `"requests":`}},
		{name: "advance clock", method: "POST", path: "/-/sim/clock", token: rootSecret, body: `{"advance":"72h"}`, code: 200, want: `{"now":"2026-11-28T12:00:00.000Z"}`},
		{name: "set clock", method: "POST", path: "/-/sim/clock", token: rootSecret, body: `{"set":"2027-01-01T00:00:00Z"}`, code: 200},
		{name: "faults", method: "POST", path: "/-/sim/faults", token: rootSecret, body: `{"throttle":1}`, code: 200},
		{name: "throttled by fault", path: "/user", token: rootSecret, code: 429, want: "Retry later\n"},
		{name: "bad fault", method: "POST", path: "/-/sim/faults", token: rootSecret, body: `{"reset":{"path":"("}}`, code: 400},
	})
	if !fake.Now().Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("clock = %v", fake.Now())
	}
	if s.Stats().Throttled != 1 {
		t.Errorf("throttled = %d", s.Stats().Throttled)
	}
}

func itoa(n int) string     { return strconv.Itoa(n) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// Reuse detection on /personal_access_tokens/self/rotate (GitLab's
// access_token_rotation_request? matches access_tokens/(\d+|self)/rotate$
// anywhere in the path) and only there: the rotated-away secret presented to
// any other endpoint is just rejected. Only active descendants are revoked.
func TestConformanceReuseDetectionOnPersonalSelfRotate(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	dora, err := s.CreateUser("dora", false)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
	_, old, err := s.CreatePersonalToken(dora.ID, TokenSpec{Name: "tokenwarden", Scopes: []string{"api"}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", base+"/api/v4/personal_access_tokens/self/rotate", old, `{"expires_at":"2027-02-01"}`)
	if r.code != 200 {
		t.Fatalf("self rotate: %d %s", r.code, r.body)
	}
	var rotated struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.body), &rotated); err != nil || rotated.Token == "" {
		t.Fatalf("self rotate answer %s: %v", r.body, err)
	}
	runSteps(t, base, []step{
		{name: "old secret on a read: rejected", path: "/personal_access_tokens/self", token: old, code: 401, want: bodyRevoked},
		{name: "new secret unaffected by that", path: "/personal_access_tokens/self", token: rotated.Token, code: 200, contains: []string{`"active":true`}},
		{name: "old secret on self/rotate: rejected", method: "POST", path: "/personal_access_tokens/self/rotate", token: old, code: 401, want: bodyRevoked},
		{name: "…and the new one is revoked with it", path: "/personal_access_tokens/self", token: rotated.Token, code: 401, want: bodyRevoked},
	})
}
