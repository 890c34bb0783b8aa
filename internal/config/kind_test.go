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
