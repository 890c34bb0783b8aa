package cleanup

import (
	"context"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

const kindsFixture = `
users:
  - username: bob
groups:
  - path: kinds
    members: [{user: bob, access_level: 40}]
    deploy_tokens:
      - {name: old-pull, scopes: [read_registry], expires_at: 2026-11-01, secret: gldt-oldpull00000000000000}
      - {name: live-pull, scopes: [read_registry]}
    runners:
      - {description: old-runner, created_at: 2026-01-01, secret: glrt-oldrunner0000000000}
    projects:
      - path: svc
        triggers:
          - {description: old-trigger, owner: bob, created_at: 2026-01-01, expires_at: 2026-11-02}
`

// TestRevokeEveryKind: revoke deletes deploy and trigger tokens and resets a
// runner's token, records each in the journal with its kind, and never
// selects a deploy token as unused (GitLab does not report its use).
func TestRevokeEveryKind(t *testing.T) {
	w := newWorld(t)
	if err := w.srv.LoadFixture(strings.NewReader(kindsFixture)); err != nil {
		t.Fatal(err)
	}
	rep, err := inventory.Scan(context.Background(), w.client, inventory.Options{Groups: []string{"kinds"},
		Kinds: []string{gitlab.KindDeployToken, gitlab.KindTriggerToken, gitlab.KindRunnerToken}})
	if err != nil {
		t.Fatal(err)
	}
	th := policy.DefaultThresholds()
	for _, c := range Select(rep.Tokens, now, Criteria{Unused: 30 * 24 * time.Hour, Thresholds: th}).Revoke {
		if c.Token.TokenKind() == gitlab.KindDeployToken {
			t.Fatalf("--unused 30d selected deploy token %s: GitLab does not report a deploy token's use", c.Token.Name)
		}
	}
	sel := Select(rep.Tokens, now, Criteria{Expired: true, Findings: []string{policy.CodeNeverUsed}, Thresholds: th})
	names := map[string]gitlab.Token{}
	for _, c := range sel.Revoke {
		names[c.Token.Name] = c.Token
	}
	for _, n := range []string{"old-pull", "old-trigger", "old-runner"} {
		if _, ok := names[n]; !ok {
			t.Fatalf("not selected: %s (selected %v)", n, names)
		}
	}
	if _, ok := names["live-pull"]; ok {
		t.Fatal("a live deploy token without usage data was selected")
	}
	results := Revoke(context.Background(), w.client, sel.Revoke, Options{Journal: w.store})
	for _, r := range results {
		if r.Outcome != Revoked {
			t.Errorf("%s: %s %v", r.Token.Name, r.Outcome, r.Err)
		}
	}
	if w.srv.DeployTokenValid("gitlab+deploy-token-1", "gldt-oldpull00000000000000", "read_registry") || len(w.srv.DeployTokens()) != 1 {
		t.Errorf("deploy tokens after revoke: %+v", w.srv.DeployTokens())
	}
	if len(w.srv.Triggers()) != 0 {
		t.Errorf("triggers after revoke: %+v", w.srv.Triggers())
	}
	if len(w.srv.Runners()) != 1 || w.srv.RunnerTokenValid("glrt-oldrunner0000000000") {
		t.Error("the runner's old token still works after revoke")
	}
	rows, err := w.store.List(context.Background(), journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, r := range rows {
		if r.Kind != journal.KindRevocation || r.Step != journal.StepDone {
			t.Errorf("journal row %s: kind %s step %s", r.Ref, r.Kind, r.Step)
		}
		kinds[strings.SplitN(r.Reason, ":", 2)[0]] = true
	}
	if len(rows) != 3 || !kinds["deploy_token"] || !kinds["trigger_token"] || !kinds["runner_token"] {
		t.Errorf("journal: %d rows, kinds %v", len(rows), kinds)
	}
}
