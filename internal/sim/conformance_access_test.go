package sim

import (
	"testing"
)

// Extra people for the access tests, on top of conformanceFixture:
// erin (id 8) is a direct Maintainer of platform/infra only; frank (id 9) a
// Maintainer of platform.
const (
	erinSecret  = "glpat-erin0000000000000000"
	frankSecret = "glpat-frank000000000000000"
)

func addPerson(t *testing.T, s *Server, name, secret string, kind string, resourceID int64, level int) User {
	t.Helper()
	u, err := s.CreateUser(name, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreatePersonalToken(u.ID, TokenSpec{Name: name, Scopes: []string{"api"}, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(kind, resourceID, u.ID, level); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConformanceGroupListFilters: owned and min_access_level follow GitLab's
// GroupsFinder, not "every group the caller can see".
func TestConformanceGroupListFilters(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	addPerson(t, s, "erin", erinSecret, "group", 2, 40)
	const platform, infra = `"full_path":"platform"`, `"full_path":"platform/infra"`
	runSteps(t, base, []step{
		{name: "owner: min_access_level=50 includes inherited subgroups", path: "/groups?min_access_level=50", token: aliceSecret, code: 200, contains: []string{platform, infra}},
		{name: "owned: direct Owner memberships only", path: "/groups?owned=true", token: aliceSecret, code: 200, contains: []string{platform}, absent: []string{infra}},
		{name: "developer at its level", path: "/groups?min_access_level=30", token: bobSecret, code: 200, contains: []string{platform, infra}},
		{name: "developer above its level", path: "/groups?min_access_level=40", token: bobSecret, code: 200, want: `[]`},
		{name: "developer owns nothing", path: "/groups?owned=true", token: bobSecret, code: 200, want: `[]`},
		{name: "subgroup maintainer sees the ancestor", path: "/groups", token: erinSecret, code: 200, contains: []string{platform, infra}},
		{name: "…but min_access_level does not reach up", path: "/groups?min_access_level=40", token: erinSecret, code: 200, contains: []string{infra}, absent: []string{platform}},
		{name: "project membership does not count", path: "/groups?min_access_level=10", token: carolSecret, code: 200, want: `[]`},
		{name: "admin is not a member", path: "/groups?min_access_level=10", token: rootSecret, code: 200, want: `[]`},
		{name: "admin owns nothing here", path: "/groups?owned=true", token: rootSecret, code: 200, want: `[]`},
		{name: "subgroups filtered too", path: "/groups/1/subgroups?min_access_level=40", token: erinSecret, code: 200, contains: []string{infra}},
		{name: "descendant_groups owned", path: "/groups/1/descendant_groups?owned=true", token: aliceSecret, code: 200, want: `[]`},
		{name: "owned=false is no filter", path: "/groups?owned=false", token: carolSecret, code: 200, contains: []string{platform, infra}},
		{name: "not an access level", path: "/groups?min_access_level=45", token: aliceSecret, code: 400, want: `{"error":"min_access_level does not have a valid value"}`},
		{name: "not an integer", path: "/groups?min_access_level=owner", token: aliceSecret, code: 400, want: `{"error":"min_access_level is invalid"}`},
		{name: "owned not a boolean", path: "/groups?owned=maybe", token: aliceSecret, code: 400, want: `{"error":"owned is invalid"}`},
	})
}

// TestConformanceMembers: GET …/members/:user_id (direct) and
// …/members/all/:user_id (inherited too; the highest level wins).
func TestConformanceMembers(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	if err := s.AddMember("group", 2, 3, 20); err != nil { // bob: Reporter in infra, Developer inherited from platform
		t.Fatal(err)
	}
	const notFound = `{"message":"404 Not found"}`
	runSteps(t, base, []step{
		{name: "inherited owner of a project", path: "/projects/1/members/all/2", token: carolSecret, code: 200,
			want: `{"id":2,"username":"alice","name":"Alice","state":"active","locked":false,"avatar_url":null,"web_url":"` + base + `/alice","access_level":50,"created_at":"2026-11-25T12:00:00.000Z","expires_at":null}`},
		{name: "not a direct project member", path: "/projects/1/members/2", token: carolSecret, code: 404, want: notFound},
		{name: "direct project member", path: "/projects/1/members/4", token: aliceSecret, code: 200, contains: []string{`"username":"carol"`, `"access_level":40`}},
		{name: "direct project member via all", path: "/projects/platform%2Finfra%2Fapp/members/all/4", token: aliceSecret, code: 200, contains: []string{`"access_level":40`}},
		{name: "highest level wins", path: "/groups/2/members/all/3", token: aliceSecret, code: 200, contains: []string{`"username":"bob"`, `"access_level":30`}},
		{name: "direct group level", path: "/groups/2/members/3", token: aliceSecret, code: 200, contains: []string{`"access_level":20`}},
		{name: "not a direct group member", path: "/groups/2/members/2", token: aliceSecret, code: 404, want: notFound},
		{name: "group bot member", path: "/groups/platform/members/6", token: aliceSecret, code: 200, contains: []string{`"name":"platform-bot"`, `"access_level":40`}},
		{name: "non-member", path: "/groups/1/members/all/5", token: aliceSecret, code: 404, want: notFound},
		{name: "unknown user", path: "/groups/1/members/all/999", token: aliceSecret, code: 404, want: notFound},
		{name: "invisible group", path: "/groups/1/members/all/2", token: daveSecret, code: 404, want: `{"message":"404 Group Not Found"}`},
		{name: "invisible project", path: "/projects/1/members/all/4", token: daveSecret, code: 404, want: `{"message":"404 Project Not Found"}`},
		{name: "bad user id", path: "/groups/1/members/all/bob", token: aliceSecret, code: 400, want: `{"error":"user_id is invalid"}`},
		{name: "needs a token", path: "/groups/1/members/all/2", code: 401, want: body401},
		{name: "read_api is enough", path: "/groups/1/members/all/2", token: aliceRead, code: 200},
	})
}

// TestConformanceVariablePermissions: admin_cicd_variables is Owner on a
// group and Maintainer on a project, for reads and writes alike.
func TestConformanceVariablePermissions(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	addPerson(t, s, "frank", frankSecret, "group", 1, 40)
	const forbidden = `{"message":"403 Forbidden"}`
	runSteps(t, base, []step{
		{name: "owner creates a group variable", method: "POST", path: "/groups/1/variables", token: aliceSecret, body: `{"key":"G","value":"group-value"}`, code: 201},
		{name: "group maintainer cannot create", method: "POST", path: "/groups/1/variables", token: frankSecret, body: `{"key":"F","value":"x"}`, code: 403, want: forbidden},
		{name: "group maintainer cannot update", method: "PUT", path: "/groups/1/variables/G", token: frankSecret, body: `{"value":"y"}`, code: 403, want: forbidden},
		{name: "group maintainer cannot delete", method: "DELETE", path: "/groups/1/variables/G", token: frankSecret, code: 403, want: forbidden},
		{name: "group maintainer cannot list", path: "/groups/1/variables", token: frankSecret, code: 403, want: forbidden},
		{name: "group maintainer cannot get", path: "/groups/1/variables/G", token: frankSecret, code: 403, want: forbidden},
		{name: "inherited owner of a subgroup", method: "POST", path: "/groups/2/variables", token: aliceSecret, body: `{"key":"G","value":"x"}`, code: 201},
		{name: "admin", method: "PUT", path: "/groups/1/variables/G", token: rootSecret, body: `{"value":"by-admin"}`, code: 200},
		{name: "inherited maintainer writes project variables", method: "POST", path: "/projects/1/variables", token: frankSecret, body: `{"key":"P","value":"x"}`, code: 201},
		{name: "project maintainer", method: "PUT", path: "/projects/1/variables/P", token: carolSecret, body: `{"value":"y"}`, code: 200},
		{name: "developer cannot write project variables", method: "POST", path: "/projects/1/variables", token: bobSecret, body: `{"key":"B","value":"x"}`, code: 403, want: forbidden},
		{name: "developer cannot read project variables", path: "/projects/1/variables/P", token: bobSecret, code: 403, want: forbidden},
		{name: "non-member gets 404 first", path: "/groups/1/variables", token: daveSecret, code: 404, want: `{"message":"404 Group Not Found"}`},
	})
	if v, ok := s.Variable("group", 1, "G", "*"); !ok || v.Value != "by-admin" {
		t.Errorf("group variable = %+v, %v", v, ok)
	}
}

// TestConformanceAdminToken: POST /admin/token, GitLab's token information
// API (17.5+), answers for any token, whatever its state.
func TestConformanceAdminToken(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	_, deploySecret, err := s.CreateDeployToken("project", 1, DeployTokenSpec{Name: "k8s-pull", Scopes: []string{"read_registry"}})
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, base, []step{
		{name: "deploy token: its own entity", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"` + deploySecret + `"}`, code: 200,
			contains: []string{`"name":"k8s-pull"`, `"username":"gitlab+deploy-token-`, `"scopes":["read_registry"]`, `"revoked":false`, `"expired":false`},
			absent:   []string{`"token"`, "gldt-"}},
		{name: "expired token", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"` + expSecret + `"}`, code: 200,
			contains: []string{`"name":"old"`, `"revoked":false`, `"active":false`, `"expired":true`, `"expires_at":"2026-11-25"`, `"user_id":2`},
			absent:   []string{`"token"`, "glpat-", `"access_level"`}},
		{name: "revoked token", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"` + revSecret + `"}`, code: 200, contains: []string{`"name":"gone"`, `"revoked":true`, `"active":false`}},
		{name: "group access token", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"` + botSecret + `"}`, code: 200,
			contains: []string{`"name":"platform-bot"`, `"user_id":6`, `"active":true`, `"expires_at":"2026-12-31"`}, absent: []string{"resource_type"}},
		{name: "form body", method: "POST", path: "/admin/token?token=" + aliceSecret, token: rootSecret, code: 200, contains: []string{`"name":"laptop"`}},
		{name: "not an admin", method: "POST", path: "/admin/token", token: aliceSecret, body: `{"token":"` + expSecret + `"}`, code: 403, want: `{"message":"403 Forbidden"}`},
		{name: "unknown token", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"glpat-unknown00000000000"}`, code: 404, want: `{"message":{"error":"Not found"}}`},
		{name: "unknown prefix", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"ghp_abc"}`, code: 422, want: `{"message":"Token type not supported."}`},
		{name: "supported kind GitLab does not hold: deploy token", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"gldt-abcdefghij0123456789"}`, code: 404, want: `{"message":{"error":"Not found"}}`},
		{name: "supported kind GitLab does not hold: runner token", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"glrt-abcdefghij0123456789"}`, code: 404, want: `{"message":{"error":"Not found"}}`},
		{name: "unsupported GitLab kind: SCIM token", method: "POST", path: "/admin/token", token: rootSecret, body: `{"token":"glsoat-abcdefghij0123456789"}`, code: 422, want: `{"message":"Token type not supported."}`},
		{name: "no token", method: "POST", path: "/admin/token", token: rootSecret, body: `{}`, code: 400, want: `{"error":"token is missing"}`},
		{name: "needs authentication", method: "POST", path: "/admin/token", body: `{"token":"` + expSecret + `"}`, code: 401, want: body401},
		{name: "needs api scope", method: "POST", path: "/admin/token", token: aliceRead, body: `{"token":"` + expSecret + `"}`, code: 403, want: bodyScopeAPI},
	})
}
