package sim

import (
	"encoding/json"
	"strings"
	"testing"
)

// Service accounts and admin-made personal access tokens
// (docs/gitlab-api.md, "Service accounts and the group credentials inventory").
func TestConformanceServiceAccounts(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	const forbidden = `{"message":"403 Forbidden"}`
	runSteps(t, base, []step{
		{name: "instance: admin only", method: "POST", path: "/service_accounts", token: aliceSecret, code: 403, want: forbidden},
		{name: "instance service account", method: "POST", path: "/service_accounts", token: rootSecret, body: `{"name":"ci"}`, code: 201,
			contains: []string{`"id":8,"username":"service_account_`, `"name":"ci"`}},
		{name: "group: owner only", method: "POST", path: "/groups/1/service_accounts", token: bobSecret, code: 403, want: forbidden},
		{name: "group service account", method: "POST", path: "/groups/1/service_accounts", token: aliceSecret, code: 201,
			contains: []string{`"id":9,"username":"service_account_group_1_`, `"name":"Service account user"`}},
		{name: "top-level groups only", method: "POST", path: "/groups/2/service_accounts", token: aliceSecret, code: 400},
		{name: "group list", path: "/groups/1/service_accounts", token: aliceSecret, code: 200, contains: []string{`"id":9`}, absent: []string{`"id":8`}},
		{name: "instance list", path: "/service_accounts", token: rootSecret, code: 200, contains: []string{`"id":8`, `"id":9`}},
		{name: "token: missing fields", method: "POST", path: "/groups/1/service_accounts/9/personal_access_tokens", token: aliceSecret, body: `{}`, code: 400, want: `{"error":"name is missing, scopes is missing"}`},
		{name: "token: another group's account", method: "POST", path: "/groups/1/service_accounts/8/personal_access_tokens", token: aliceSecret, body: `{"name":"x","scopes":["api"]}`, code: 404, want: `{"message":"404 User Not Found"}`},
		{name: "token: not a service account", method: "POST", path: "/groups/1/service_accounts/3/personal_access_tokens", token: aliceSecret, body: `{"name":"x","scopes":["api"]}`, code: 400},
		{name: "token: default expiry is the longest allowed", method: "POST", path: "/groups/1/service_accounts/9/personal_access_tokens", token: aliceSecret, body: `{"name":"deploy","scopes":["read_api"]}`, code: 201,
			contains: []string{`"name":"deploy"`, `"user_id":9`, `"expires_at":"2027-11-25"`, `"token":"glpat-`}},
		{name: "admins list service account tokens like any", path: "/personal_access_tokens?user_id=9", token: rootSecret, code: 200, contains: []string{`"name":"deploy"`}},
		{name: "group list of the account's tokens", path: "/groups/1/service_accounts/9/personal_access_tokens", token: aliceSecret, code: 200, contains: []string{`"name":"deploy"`}},
		{name: "admin creates for any user", method: "POST", path: "/users/8/personal_access_tokens", token: rootSecret, body: `{"name":"inst","scopes":["api"],"expires_at":"2026-12-31"}`, code: 201,
			contains: []string{`"user_id":8`, `"expires_at":"2026-12-31"`, `"token":"glpat-`}},
		{name: "…non-admins may not", method: "POST", path: "/users/2/personal_access_tokens", token: aliceSecret, body: `{"name":"x","scopes":["api"]}`, code: 403, want: forbidden},
		{name: "unknown user", method: "POST", path: "/users/99/personal_access_tokens", token: rootSecret, body: `{"name":"x","scopes":["api"]}`, code: 404, want: `{"message":"404 User Not Found"}`},
	})
	var tokens []struct {
		ID int64 `json:"id"`
	}
	r := do(t, "GET", base+"/api/v4/personal_access_tokens?user_id=9", rootSecret, "")
	if err := json.Unmarshal([]byte(r.body), &tokens); err != nil || len(tokens) != 1 {
		t.Fatalf("%v %s", err, r.body)
	}
	id := itoa64(tokens[0].ID)
	runSteps(t, base, []step{
		{name: "rotate: a week by default", method: "POST", path: "/groups/1/service_accounts/9/personal_access_tokens/" + id + "/rotate", token: aliceSecret, code: 200,
			contains: []string{`"name":"deploy"`, `"expires_at":"2026-12-02"`, `"token":"glpat-`}},
		{name: "the old one is revoked", path: "/personal_access_tokens/" + id, token: rootSecret, code: 200, contains: []string{`"revoked":true`}},
		{name: "rotate: another account's token", method: "POST", path: "/groups/1/service_accounts/9/personal_access_tokens/1/rotate", token: aliceSecret, code: 404},
		{name: "revoke", method: "DELETE", path: "/groups/1/service_accounts/9/personal_access_tokens/" + itoa64(tokens[0].ID+2), token: aliceSecret, code: 204},
		{name: "instance account tokens rotate through /personal_access_tokens/:id/rotate", method: "POST", path: "/personal_access_tokens/" + itoa64(tokens[0].ID+1) + "/rotate", token: rootSecret, code: 200, contains: []string{`"user_id":8`}},
	})
	if u, ok := s.User(9); !ok || !u.Bot || !strings.HasPrefix(u.Username, "service_account_group_1_") {
		t.Errorf("service account = %+v", u)
	}
}

// TestConformanceManageResourceTokens: the GitLab.com credentials inventory.
func TestConformanceManageResourceTokens(t *testing.T) {
	_, selfManaged, _ := newConformance(t, Options{})
	runSteps(t, selfManaged, []step{
		{name: "self-managed has none", path: "/groups/1/manage/resource_access_tokens", token: aliceSecret, code: 404},
	})
	_, base, _ := newConformance(t, Options{SaaS: true})
	runSteps(t, base, []step{
		{name: "every group and project token below the group", path: "/groups/platform/manage/resource_access_tokens", token: aliceSecret, code: 200,
			contains: []string{`"name":"platform-bot"`, `"resource_type":"group","resource_id":1`, `"name":"app-bot"`, `"resource_type":"project","resource_id":1`}, header: map[string]string{"X-Total": "2"},
			absent: []string{`"name":"laptop"`}},
		{name: "filters apply", path: "/groups/1/manage/resource_access_tokens?search=app", token: aliceSecret, code: 200, header: map[string]string{"X-Total": "1"}},
		{name: "owners only", path: "/groups/1/manage/resource_access_tokens", token: bobSecret, code: 403, want: `{"message":"403 Forbidden"}`},
		{name: "top-level groups only", path: "/groups/2/manage/resource_access_tokens", token: aliceSecret, code: 404},
	})
}
