package sim

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// The credentials beyond access tokens, as lib/api/deploy_tokens.rb,
// lib/api/ci/triggers.rb and lib/api/ci/runners.rb serve them
// (docs/gitlab-api.md, "Deploy tokens, trigger tokens, runners").

const (
	deploySecret  = "gldt-app00000000000000000"
	triggerSecret = "glptt-carol0000000000000000000000000000000000"
	runnerSecret  = "glrt-platform000000000000"
)

func newCredentials(t *testing.T) (*Server, string) {
	t.Helper()
	s, base, _ := newConformance(t, Options{})
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := s.CreateDeployToken("project", 1, DeployTokenSpec{Name: "k8s-pull", Scopes: []string{"read_registry"}, ExpiresAt: &exp, Secret: deploySecret}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateDeployToken("group", 1, DeployTokenSpec{Name: "mirror", Username: "mirror-bot", Scopes: []string{"read_repository"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateTrigger(1, 4, TriggerSpec{Description: "nightly", Secret: triggerSecret}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateRunner(RunnerSpec{Description: "platform-1", Type: "group_type", GroupID: 1, TokenExpiresAt: &exp, Secret: runnerSecret}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateRunner(RunnerSpec{Description: "shared", Type: "instance_type"}); err != nil {
		t.Fatal(err)
	}
	return s, base
}

func TestConformanceDeployTokens(t *testing.T) {
	s, base := newCredentials(t)
	const forbidden = `{"message":"403 Forbidden"}`
	runSteps(t, base, []step{
		{name: "project list (maintainer)", path: "/projects/1/deploy_tokens", token: carolSecret, code: 200,
			want: `[{"id":1,"name":"k8s-pull","username":"gitlab+deploy-token-1","expires_at":"2027-01-01T00:00:00.000Z","scopes":["read_registry"],"revoked":false,"expired":false}]`},
		{name: "developer may not", path: "/groups/1/deploy_tokens", token: bobSecret, code: 403, want: forbidden},
		{name: "invisible project", path: "/projects/1/deploy_tokens", token: daveSecret, code: 404, want: `{"message":"404 Project Not Found"}`},
		{name: "group list, custom username, no expiry", path: "/groups/platform/deploy_tokens", token: aliceSecret, code: 200,
			want: `[{"id":2,"name":"mirror","username":"mirror-bot","expires_at":null,"scopes":["read_repository"],"revoked":false,"expired":false}]`},
		{name: "instance list is admin-only", path: "/deploy_tokens", token: aliceSecret, code: 403, want: forbidden},
		{name: "instance list", path: "/deploy_tokens", token: rootSecret, code: 200, contains: []string{`"id":1`, `"id":2`}, header: map[string]string{"X-Total": "2"}},
		{name: "needs a token", path: "/deploy_tokens", code: 401, want: body401},
		{name: "get", path: "/projects/1/deploy_tokens/1", token: carolSecret, code: 200, contains: []string{`"name":"k8s-pull"`}, absent: []string{`"token"`}},
		{name: "another resource's token", path: "/projects/1/deploy_tokens/2", token: carolSecret, code: 404, want: `{"message":"404 Not found"}`},
		{name: "bad id", path: "/projects/1/deploy_tokens/abc", token: carolSecret, code: 400, want: `{"error":"token_id is invalid"}`},
		{name: "create: missing fields", method: "POST", path: "/projects/1/deploy_tokens", token: carolSecret, body: `{}`, code: 400, want: `{"error":"name is missing, scopes is missing"}`},
		{name: "create: unknown scope", method: "POST", path: "/projects/1/deploy_tokens", token: carolSecret, body: `{"name":"x","scopes":["api"]}`, code: 400, want: `{"error":"scopes does not have a valid value"}`},
		{name: "create: no scope", method: "POST", path: "/projects/1/deploy_tokens", token: carolSecret, body: `{"name":"x","scopes":[]}`, code: 400, want: `{"message":"Scopes can't be blank"}`},
		{name: "create: developer", method: "POST", path: "/projects/1/deploy_tokens", token: bobSecret, body: `{"name":"x","scopes":["read_registry"]}`, code: 403, want: forbidden},
		{name: "create: token only here", method: "POST", path: "/projects/1/deploy_tokens", token: carolSecret, body: `{"name":"ci","scopes":["read_registry","write_registry"],"expires_at":"2027-02-01T00:00:00Z"}`, code: 201,
			contains: []string{`"id":3`, `"username":"gitlab+deploy-token-3"`, `"expires_at":"2027-02-01T00:00:00.000Z"`, `"token":"gldt-`}},
		{name: "active filter", path: "/deploy_tokens?active=true", token: rootSecret, code: 200, header: map[string]string{"X-Total": "3"}},
		{name: "a deploy token is not an API token", path: "/projects/1/deploy_tokens", token: deploySecret, code: 401, want: body401},
		{name: "delete", method: "DELETE", path: "/projects/1/deploy_tokens/1", token: carolSecret, code: 204},
		{name: "deleted is gone", path: "/projects/1/deploy_tokens/1", token: carolSecret, code: 404, want: `{"message":"404 Not found"}`},
	})
	if s.DeployTokenValid("gitlab+deploy-token-1", deploySecret, "read_registry") {
		t.Error("a deleted deploy token still pulls from the registry")
	}
	if s.DeployTokenValid("mirror-bot", "gldt-wrong000000000000000", "read_repository") {
		t.Error("a wrong secret passes")
	}
}

func TestConformanceDeployTokenExpiry(t *testing.T) {
	s, base, fake := newConformance(t, Options{})
	exp := t0.Add(24 * time.Hour)
	_, secret, err := s.CreateDeployToken("project", 1, DeployTokenSpec{Name: "pull", Scopes: []string{"read_registry"}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if !s.DeployTokenValid("gitlab+deploy-token-1", secret, "read_registry") || s.DeployTokenValid("gitlab+deploy-token-1", secret, "write_registry") {
		t.Fatal("a deploy token works for its own scopes only")
	}
	fake.Advance(25 * time.Hour)
	runSteps(t, base, []step{
		{name: "expired shows", path: "/projects/1/deploy_tokens", token: carolSecret, code: 200, contains: []string{`"expired":true`}},
		{name: "…not when active=true", path: "/projects/1/deploy_tokens?active=true", token: carolSecret, code: 200, want: `[]`},
	})
	if s.DeployTokenValid("gitlab+deploy-token-1", secret, "read_registry") {
		t.Error("an expired deploy token still works")
	}
}

func TestConformanceTriggers(t *testing.T) {
	s, base := newCredentials(t)
	runSteps(t, base, []step{
		{name: "owner sees the whole token", path: "/projects/1/triggers", token: carolSecret, code: 200,
			contains: []string{`"token":"` + triggerSecret + `"`, `"description":"nightly"`, `"last_used":null`, `"expires_at":null`, `"owner":{"id":4,"username":"carol"`}},
		{name: "others see four characters", path: "/projects/1/triggers/1", token: aliceSecret, code: 200, contains: []string{`"token":"caro"`}, absent: []string{triggerSecret}},
		{name: "…admins too", path: "/projects/1/triggers/1", token: rootSecret, code: 200, contains: []string{`"token":"caro"`}},
		{name: "developer may not list", path: "/projects/1/triggers", token: bobSecret, code: 403, want: `{"message":"403 Forbidden"}`},
		{name: "unknown trigger", path: "/projects/1/triggers/99", token: carolSecret, code: 404, want: `{"message":"404 Not found"}`},
		{name: "create needs a description", method: "POST", path: "/projects/1/triggers", token: aliceSecret, body: `{}`, code: 400, want: `{"error":"description is missing"}`},
		{name: "create with expiry", method: "POST", path: "/projects/1/triggers", token: aliceSecret, body: `{"description":"deploy","expires_at":"2027-03-01"}`, code: 201,
			contains: []string{`"id":2`, `"token":"glptt-`, `"expires_at":"2027-03-01T00:00:00.000Z"`, `"owner":{"id":2,"username":"alice"`}},
		{name: "only the owner updates", method: "PUT", path: "/projects/1/triggers/1", token: aliceSecret, body: `{"description":"x"}`, code: 403,
			want: `{"message":"403 Forbidden - The current user is not authorized to update the pipeline trigger token"}`},
		{name: "owner updates", method: "PUT", path: "/projects/1/triggers/1", token: carolSecret, body: `{"description":"nightly build"}`, code: 200, contains: []string{`"description":"nightly build"`}},
		{name: "a maintainer deletes another's", method: "DELETE", path: "/projects/1/triggers/1", token: aliceSecret, code: 204},
		{name: "gone", path: "/projects/1/triggers/1", token: carolSecret, code: 404},
	})
	var created []struct {
		Token string `json:"token"`
	}
	r := do(t, "GET", base+"/api/v4/projects/1/triggers", aliceSecret, "")
	if err := json.Unmarshal([]byte(r.body), &created); err != nil || len(created) != 1 {
		t.Fatalf("list: %v %s", err, r.body)
	}
	if tok := created[0].Token; !strings.HasPrefix(tok, "glptt-") || len(tok) != 46 || !s.TriggerValid(1, tok) {
		t.Errorf("trigger token %q: want glptt- and 40 hex digits, valid", tok)
	}
	if s.TriggerValid(1, triggerSecret) {
		t.Error("a deleted trigger token still triggers")
	}
}

func TestConformanceRunners(t *testing.T) {
	_, base := newCredentials(t)
	runSteps(t, base, []step{
		{name: "all runners: admin only", path: "/runners/all", token: aliceSecret, code: 403, want: `{"message":"403 Forbidden"}`},
		{name: "all runners", path: "/runners/all", token: rootSecret, code: 200, contains: []string{`"runner_type":"group_type"`, `"runner_type":"instance_type"`, `"is_shared":true`}, header: map[string]string{"X-Total": "2"}},
		{name: "type filter", path: "/runners/all?type=instance_type", token: rootSecret, code: 200, contains: []string{`"description":"shared"`}, absent: []string{"platform-1"}},
		{name: "bad type", path: "/runners/all?type=x", token: rootSecret, code: 400, want: `{"error":"type does not have a valid value"}`},
		{name: "details carry no token and no token expiry", path: "/runners/1", token: aliceSecret, code: 200,
			contains: []string{`"description":"platform-1"`, `"groups":[{"id":1,"name":"Platform","path":"platform"`, `"contacted_at":null`, `"status":"never_contacted"`}, absent: []string{`"token`}},
		{name: "a developer may not read a group runner", path: "/runners/1", token: bobSecret, code: 403, want: `{"message":"403 Forbidden - No access granted"}`},
		{name: "unknown runner", path: "/runners/9", token: rootSecret, code: 404, want: `{"message":"404 Runner Not Found"}`},
		{name: "group runners", path: "/groups/2/runners", token: aliceSecret, code: 200, contains: []string{"platform-1"}},
		{name: "project runners include instance and group runners", path: "/projects/1/runners", token: carolSecret, code: 200, contains: []string{"platform-1", `"description":"shared"`}},
		{name: "verify the current token", method: "POST", path: "/runners/verify", body: `{"token":"` + runnerSecret + `"}`, code: 200,
			want: `{"id":1,"token":"` + runnerSecret + `","token_expires_at":"2027-01-01T00:00:00.000Z"}`},
		{name: "verify is the runner's contact", path: "/runners/1", token: aliceSecret, code: 200,
			contains: []string{`"status":"online"`}, absent: []string{`"contacted_at":null`}},
		{name: "only the group Owner resets", method: "POST", path: "/runners/1/reset_authentication_token", token: carolSecret, code: 403},
		{name: "instance runners: admins only", method: "POST", path: "/runners/2/reset_authentication_token", token: aliceSecret, code: 403},
	})
	r := do(t, "POST", base+"/api/v4/runners/1/reset_authentication_token", aliceSecret, "")
	var res struct {
		Token          string  `json:"token"`
		TokenExpiresAt *string `json:"token_expires_at"`
	}
	if r.code != 201 || json.Unmarshal([]byte(r.body), &res) != nil || !strings.HasPrefix(res.Token, "glrt-") || res.TokenExpiresAt != nil {
		t.Fatalf("reset = %d %s, want 201 with a new glrt- token and no expiry (no runner_token_expiration_interval)", r.code, r.body)
	}
	runSteps(t, base, []step{
		{name: "old token dead at once", method: "POST", path: "/runners/verify", body: `{"token":"` + runnerSecret + `"}`, code: 403, want: `{"message":"403 Forbidden"}`},
		{name: "new token works", method: "POST", path: "/runners/verify", body: `{"token":"` + res.Token + `"}`, code: 200},
	})
}

func TestConformanceRunnerTokenExpirationInterval(t *testing.T) {
	s, base, _ := newConformance(t, Options{RunnerTokenExpiration: 30 * 24 * time.Hour})
	if _, _, err := s.CreateRunner(RunnerSpec{Type: "instance_type"}); err != nil {
		t.Fatal(err)
	}
	runSteps(t, base, []step{
		{name: "reset answers the new expiry", method: "POST", path: "/runners/1/reset_authentication_token", token: rootSecret, code: 201,
			contains: []string{`"token_expires_at":"2026-12-25T12:00:00.000Z"`}},
	})
}

func TestSeededCredentials(t *testing.T) {
	s, err := New(Options{Clock: clock.NewFake(t0), Seed: 7, Groups: 3, ProjectsPerGroup: 2, TokensPerProject: 1, DeployTokensPerProject: 2, TriggerTokensPerProject: 1, RunnersPerGroup: 1})
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.DeployTokens != 12 || st.TriggerTokens != 6 || st.Runners == 0 {
		t.Fatalf("stats = %+v, want 12 deploy tokens, 6 trigger tokens and runners", st)
	}
	plain, err := New(Options{Clock: clock.NewFake(t0), Seed: 7, Groups: 3, ProjectsPerGroup: 2, TokensPerProject: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Tokens(), plain.Tokens()) {
		t.Fatal("the access tokens of a seeded instance change when credentials are seeded too")
	}
}

func TestFixtureCredentials(t *testing.T) {
	s, _, _ := newConformance(t, Options{})
	err := s.LoadFixture(strings.NewReader(`
groups:
  - path: data
    deploy_tokens: [{name: pull, scopes: [read_registry], expires_at: 2027-01-01, secret: gldt-data0000000000000000}]
    runners: [{description: data-1, token_expires_at: 2026-12-01}]
    projects:
      - path: etl
        triggers: [{description: nightly, owner: carol, last_used: 2026-11-20T00:00:00Z}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if d := s.DeployTokens(); len(d) != 1 || d[0].Username != "gitlab+deploy-token-1" || !s.DeployTokenValid(d[0].Username, "gldt-data0000000000000000", "read_registry") {
		t.Errorf("deploy tokens = %+v", d)
	}
	if tr := s.Triggers(); len(tr) != 1 || tr[0].OwnerID != 4 || tr[0].LastUsed == nil {
		t.Errorf("triggers = %+v", tr)
	}
	if r := s.Runners(); len(r) != 1 || r[0].Type != "group_type" || r[0].TokenExpiresAt == nil {
		t.Errorf("runners = %+v", r)
	}
	err = s.LoadFixture(strings.NewReader("groups:\n  - path: x\n    deploy_tokens: [{name: a, scope: [read_registry]}]\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "field scope not found in DeployToken") {
		t.Errorf("unknown key: %v", err)
	}
	err = s.LoadFixture(strings.NewReader("groups:\n  - path: y\n    deploy_tokens: [{name: a, scopes: [api]}]\n"))
	if err == nil || !strings.Contains(err.Error(), "deploy token scope api does not exist") {
		t.Errorf("bad scope: %v", err)
	}
}
