package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// TestScanVariablesShowsNoValue: on a seeded instance whose variables hold
// live, expired, revoked, foreign and unknown tokens (also in file
// variables and hidden ones), no variable's value — nor any token in one —
// appears in scan --variables' output or messages, in any format, whichever
// way the tokens are identified.
func TestScanVariablesShowsNoValue(t *testing.T) {
	srv, url := startSim(t, sim.Options{Seed: 5,
		Groups: 6, ProjectsPerGroup: 4, TokensPerProject: 2, Variables: true})
	alice, err := srv.CreateUser("alice-owner", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"platform", "payments"} {
		grp, ok := srv.GroupByPath(g)
		if !ok {
			t.Fatalf("no group %s", g)
		}
		if err := srv.AddMember("group", grp.ID, alice.ID, 50); err != nil {
			t.Fatal(err)
		}
	}
	_, aliceToken, err := srv.CreatePersonalToken(alice.ID, sim.TokenSpec{Name: "scan", Scopes: []string{"api"}, ExpiresAt: ptrTime(defaultSimNow.AddDate(0, 2, 0))})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	tokenRE := regexp.MustCompile(`(gl[a-z]+-|GR1348941)[A-Za-z0-9_.-]{20,}`)
	for _, v := range srv.Values() {
		if len(v) >= 8 { // short values ("info", "debug") are words any output may contain
			secrets = append(secrets, v)
		}
		secrets = append(secrets, tokenRE.FindAllString(v, -1)...)
	}
	if len(secrets) < 30 {
		t.Fatalf("only %d values to look for", len(secrets))
	}
	t.Setenv("GITLAB_URL", url)
	t.Setenv("TOKENWARDEN_NOW", defaultSimNow.Format(time.RFC3339))
	for _, c := range []struct {
		name, token string
		args        []string
	}{
		{"admin table", simRootToken, []string{"scan", "--variables"}},
		{"admin json", simRootToken, []string{"scan", "--variables", "--format", "json"}},
		{"admin csv", simRootToken, []string{"scan", "--variables", "--format", "csv"}},
		{"admin junit", simRootToken, []string{"scan", "--variables", "--format", "junit"}},
		{"admin codequality", simRootToken, []string{"scan", "--variables", "--format", "codequality"}},
		{"owner, not identified", aliceToken, []string{"scan", "--variables"}},
		{"owner, by use, json", aliceToken, []string{"scan", "--variables", "--identify-by-use", "--format", "json"}},
		{"owner, by use, table", aliceToken, []string{"scan", "--variables", "--identify-by-use"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GITLAB_TOKEN", c.token)
			var out, errOut bytes.Buffer
			code := run(context.Background(), c.args, &out, &errOut)
			if code != exitOK && code != exitFindings {
				t.Fatalf("exit %d\n%s", code, errOut.String())
			}
			all := out.String() + errOut.String()
			if !strings.Contains(all, "glpat-…") && c.args[len(c.args)-1] != "csv" && c.args[len(c.args)-1] != "junit" && c.args[len(c.args)-1] != "codequality" {
				t.Errorf("the output shows no token hint:\n%s", all)
			}
			for _, s := range secrets {
				if strings.Contains(all, s) {
					t.Fatalf("the output shows a variable's value %q…", s[:6])
				}
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

// TestStrayVariableOfAnotherKindWithTheSameID: GitLab numbers deploy tokens
// apart from access tokens. A variable holding access token 2 is not a
// stray copy of managed deploy token 2's secret: plan --variables says
// nothing about the deploy token.
func TestStrayVariableOfAnotherKindWithTheSameID(t *testing.T) {
	cfg, err := config.Parse("tw.yaml", []byte(`gitlab: {url: https://gitlab.example.com, token_env: GITLAB_TOKEN}
state: sqlite://tw.db
tokens:
  - name: pull
    kind: deploy_token
    project: acme/app
    scopes: [read_registry]
`))
	if err != nil {
		t.Fatal(err)
	}
	app := gitlab.Resource{Type: "project", ID: 1, Path: "acme/app"}
	deploy := gitlab.Token{ID: 2, Kind: gitlab.KindDeployToken, Name: "pull", Resource: app}
	access := gitlab.Token{ID: 2, Name: "ci", Resource: app}
	p := &engine.Plan{Items: []engine.Item{{Ref: cfg.Tokens[0].Ref(), Token: cfg.Tokens[0], Current: &deploy}}}
	rep := &inventory.Report{Variables: []inventory.VariableToken{{Resource: app, Key: "CI_TOKEN", Whole: true,
		Ident: inventory.Identification{Method: inventory.IdentAdmin, Token: &access}}}}
	if stray := strayVariables(p, cfg, rep); len(stray) > 0 {
		t.Errorf("stray variables %v: access token 2's variable taken for deploy token 2's secret", stray)
	}
	// The same variable holding the deploy token itself is a stray copy.
	rep.Variables[0].Ident.Token = &deploy
	if stray := strayVariables(p, cfg, rep); len(stray[cfg.Tokens[0].Ref()]) != 1 {
		t.Errorf("stray variables %v: want the deploy token's secret in CI_TOKEN reported", stray)
	}
}
