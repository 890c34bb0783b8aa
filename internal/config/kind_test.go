package config

import "testing"

// kind: names the access-token kind that matches the resource; both are
// what a token without kind: is.
func TestKindAccessTokens(t *testing.T) {
	for _, y := range []string{
		head + tok + "    kind: group_access_token\n",
		head + "tokens:\n  - name: t\n    project: g/p\n    scopes: [api]\n    kind: project_access_token\n",
	} {
		c, err := Parse("c.yaml", []byte(y))
		if err != nil {
			t.Fatalf("%s: %v", y, err)
		}
		if len(c.Tokens) != 1 || c.Tokens[0].Name != "t" {
			t.Fatalf("tokens = %+v", c.Tokens)
		}
	}
}

// kind: deploy_token is managed by overlap: its scopes, username and
// strategy are read, its ref names the kind.
func TestKindDeployToken(t *testing.T) {
	c, err := Parse("c.yaml", []byte(head+"tokens:\n  - name: pull\n    project: g/p\n    kind: deploy_token\n    username: registry-bot\n    scopes: [read_registry, read_package_registry]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Tokens[0]
	if !d.IsDeployToken() || d.Username != "registry-bot" || d.Strategy != StrategyOverlap || len(d.Scopes) != 2 || d.AccessLevel != 0 {
		t.Fatalf("token = %+v", d)
	}
	if d.Ref() != "project/g/p:deploy_token:pull" {
		t.Errorf("ref = %s", d.Ref())
	}
}

// kind: runner_token names a runner by id; it is reset (strategy reset),
// and its ref names the runner.
func TestKindRunnerToken(t *testing.T) {
	c, err := Parse("c.yaml", []byte(head+"tokens:\n  - name: build-1\n    kind: runner_token\n    runner: 7\n    lifetime: 90d\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Tokens[0]
	if !r.IsRunnerToken() || r.Runner != 7 || r.Strategy != StrategyReset || r.Group != "" || r.Project != "" {
		t.Fatalf("token = %+v", r)
	}
	if r.Ref() != "runner/7:runner_token:build-1" || r.ResourceType() != "runner" || r.ResourcePath() != "7" {
		t.Errorf("ref = %s (%s %s)", r.Ref(), r.ResourceType(), r.ResourcePath())
	}
}

// kind: trigger_token is a project's token matched by its description,
// rotated by overlap; its ref names the kind.
func TestKindTriggerToken(t *testing.T) {
	c, err := Parse("c.yaml", []byte(head+"defaults: {strategy: rotate}\ntokens:\n  - name: nightly\n    project: g/p\n    kind: trigger_token\n    lifetime: 90d\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Tokens[0]
	if !tr.IsTriggerToken() || !tr.OverlapOnly() || tr.Strategy != StrategyOverlap || len(tr.Scopes) != 0 || tr.AccessLevel != 0 {
		t.Fatalf("token = %+v", tr)
	}
	if tr.Ref() != "project/g/p:trigger_token:nightly" {
		t.Errorf("ref = %s", tr.Ref())
	}
}

// kind: service_account_token names its service account; a group's or the
// instance's. Its ref is the user's, like scan's personal-token rows.
func TestKindServiceAccountToken(t *testing.T) {
	c, err := Parse("c.yaml", []byte(head+"tokens:\n  - name: ci\n    kind: service_account_token\n    group: /acme/\n    service_account: svc-ci\n    scopes: [read_api, read_user]\n    strategy: rotate\n"+
		"  - name: ci\n    kind: service_account_token\n    service_account: svc-admin\n    scopes: [api]\n"))
	if err != nil {
		t.Fatal(err)
	}
	g, i := c.Tokens[0], c.Tokens[1]
	if !g.IsServiceAccountToken() || g.Group != "acme" || g.Strategy != StrategyRotate || g.ResourceType() != "user" || g.ResourcePath() != "svc-ci" {
		t.Fatalf("group token = %+v", g)
	}
	if g.Ref() != "user/svc-ci:service_account_token:ci" || i.Ref() != "user/svc-admin:service_account_token:ci" {
		t.Errorf("refs = %s, %s", g.Ref(), i.Ref())
	}
	if i.Group != "" || i.Strategy != StrategyOverlap {
		t.Errorf("instance token = %+v", i)
	}
}
