package inventory_test

import (
	"context"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/tokenfind"
)

// scanEveryKind scans with every kind, fails the test on any error, and
// counts the tokens found by kind.
func scanEveryKind(t *testing.T, c *gitlab.Client) (*inventory.Report, map[string]int) {
	t.Helper()
	rep, err := inventory.Scan(context.Background(), c, inventory.Options{Kinds: gitlab.Kinds})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	return rep, countKinds(rep.Tokens)
}

func countKinds(toks []gitlab.Token) map[string]int {
	n := map[string]int{}
	for _, t := range toks {
		n[t.TokenKind()]++
	}
	return n
}

// TestScanEveryKind: an administrator's scan with every kind finds every
// credential the seeded instance holds, each with its kind, and none of the
// group/project bots' tokens twice.
func TestScanEveryKind(t *testing.T) {
	srv, url := simtest.Start(t, sim.Options{RootToken: rootToken, Clock: clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)),
		Seed: 3, Groups: 4, ProjectsPerGroup: 3, TokensPerProject: 1, DeployTokensPerProject: 2, TriggerTokensPerProject: 1, RunnersPerGroup: 1})
	sa, err := srv.CreateServiceAccount(0, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.CreatePersonalToken(sa.ID, sim.TokenSpec{Name: "ci", Scopes: []string{"api"}}); err != nil {
		t.Fatal(err)
	}
	rep, got := scanEveryKind(t, client(t, url))
	st := srv.Stats()
	want := map[string]int{
		gitlab.KindGroupAccessToken: st.GroupTokens, gitlab.KindProjectAccessToken: st.ProjectTokens,
		gitlab.KindDeployToken: st.DeployTokens, gitlab.KindTriggerToken: st.TriggerTokens, gitlab.KindRunnerToken: st.Runners,
		gitlab.KindServiceAccountToken: 1,
		gitlab.KindPersonalAccessToken: st.PersonalTokens - 1, // root's own; the service account's counted above
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d rows, want %d (all: %v)", k, got[k], n, got)
		}
	}
	for _, tok := range rep.Tokens {
		if tok.TokenKind() == gitlab.KindDeployToken && tok.Username == "" {
			t.Errorf("deploy token %d without its username", tok.ID)
		}
	}

	// --kind filters: only deploy tokens, no access-token list call at all.
	before := srv.Stats().Requests
	rep, err = inventory.Scan(context.Background(), client(t, url), inventory.Options{Kinds: []string{gitlab.KindDeployToken}})
	if err != nil {
		t.Fatal(err)
	}
	if got := countKinds(rep.Tokens); len(got) != 1 || got[gitlab.KindDeployToken] != st.DeployTokens {
		t.Errorf("deploy tokens only: %v", got)
	}
	if calls := srv.Stats().Requests - before; calls > int64(2+st.Groups+st.Projects+2) {
		t.Errorf("deploy tokens only took %d calls for %d groups and %d projects", calls, st.Groups, st.Projects)
	}
}

// TestScanKindsAsOwner: a group Owner (not an administrator) sees the deploy
// tokens, trigger tokens and group runners of its groups, and only its own
// personal tokens.
func TestScanKindsAsOwner(t *testing.T) {
	srv, url := simtest.Start(t, sim.Options{RootToken: rootToken, Clock: clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)),
		Seed: 5, Groups: 2, ProjectsPerGroup: 2, TokensPerProject: 1, DeployTokensPerProject: 1, TriggerTokensPerProject: 1, RunnersPerGroup: 1})
	alice, ok := srv.UserByName("alice")
	if !ok {
		t.Fatal("no alice in the seeded instance")
	}
	_, secretA, err := srv.CreatePersonalToken(alice.ID, sim.TokenSpec{Name: "scan", Scopes: []string{"read_api"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := gitlab.New(gitlab.Config{URL: url, Token: secret.New(secretA), RetryMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, got := scanEveryKind(t, c)
	st := srv.Stats()
	if got[gitlab.KindDeployToken] != st.DeployTokens || got[gitlab.KindTriggerToken] != st.TriggerTokens ||
		got[gitlab.KindRunnerToken] != st.Runners || got[gitlab.KindPersonalAccessToken] != 1 {
		t.Errorf("kinds = %v; instance %+v", got, st)
	}
}

// TestScanCredentialsInventory: on GitLab.com the access tokens of a
// top-level group come from one inventory stream; the rows are the same as
// per-resource listing, with far fewer calls.
func TestScanCredentialsInventory(t *testing.T) {
	in := instance{tops: 2, subs: 3, projects: 5, tokens: 2}
	srv, url := startSim(t, in, sim.Options{SaaS: true})
	scan := func(inv bool) (*inventory.Report, int64) {
		before := srv.Stats().Requests
		rep, err := inventory.Scan(context.Background(), client(t, url), inventory.Options{CredentialsInventory: inv})
		if err != nil {
			t.Fatal(err)
		}
		return rep, srv.Stats().Requests - before
	}
	per, perCalls := scan(false)
	inv, invCalls := scan(true)
	if len(inv.Tokens) != in.tokenCount() || len(per.Tokens) != len(inv.Tokens) {
		t.Fatalf("tokens: inventory %d, per resource %d, want %d", len(inv.Tokens), len(per.Tokens), in.tokenCount())
	}
	for i := range per.Tokens {
		a, b := per.Tokens[i], inv.Tokens[i]
		if a.ID != b.ID || a.Resource != b.Resource || a.AccessLevel != b.AccessLevel || a.Name != b.Name {
			t.Fatalf("row %d: per resource %+v, inventory %+v", i, a, b)
		}
	}
	if inv.Inventoried != in.tops || invCalls >= perCalls {
		t.Fatalf("inventory: %d top-level groups, %d calls; per resource %d calls", inv.Inventoried, invCalls, perCalls)
	}
	t.Logf("%d groups, %d projects, %d tokens: %d calls per resource, %d with the credentials inventory", in.groups(), in.projectCount(), in.tokenCount(), perCalls, invCalls)

	// Self-managed: no inventory; the scan lists per resource, one call more.
	srv2, url2 := startSim(t, in, sim.Options{})
	before := srv2.Stats().Requests
	rep, err := inventory.Scan(context.Background(), client(t, url2), inventory.Options{CredentialsInventory: true})
	if err != nil || len(rep.Tokens) != in.tokenCount() || rep.Inventoried != 0 {
		t.Fatalf("self-managed: %v, %d tokens, %d inventoried", err, len(rep.Tokens), rep.Inventoried)
	}
	if calls := srv2.Stats().Requests - before; calls != perCalls+1 {
		t.Errorf("self-managed with the inventory asked: %d calls, want %d", calls, perCalls+1)
	}
}

// TestJournaledDeployTokenIsNotAnAccessToken: GitLab numbers deploy tokens
// apart from access tokens, so a deploy token that tokenwarden delivered
// (known by the journal's digest) and an access token can share an id. The
// variable holding the deploy token is identified as the deploy token's,
// never as the access token's with the same number.
func TestJournaledDeployTokenIsNotAnAccessToken(t *testing.T) {
	srv, url := simtest.Start(t, sim.Options{RootToken: rootToken, Clock: clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))})
	g, err := srv.CreateGroup("acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := srv.CreateProject("app", g.ID)
	if err != nil {
		t.Fatal(err)
	}
	access, _, err := srv.CreateAccessToken("project", p.ID, sim.TokenSpec{Name: "ci", Scopes: []string{"read_api"}, AccessLevel: 20})
	if err != nil {
		t.Fatal(err)
	}
	var deploy sim.DeployToken
	var deploySecret string
	for deploy.ID < access.ID {
		if deploy, deploySecret, err = srv.CreateDeployToken("project", p.ID, sim.DeployTokenSpec{Name: "pull", Scopes: []string{"read_registry"}}); err != nil {
			t.Fatal(err)
		}
	}
	if deploy.ID != access.ID {
		t.Fatalf("deploy token ids passed %d without reaching the access token's", access.ID)
	}
	if err := srv.SetVariable("project", p.ID, sim.Variable{Key: "PULL_TOKEN", Value: deploySecret, Masked: true}); err != nil {
		t.Fatal(err)
	}
	c := client(t, url)
	rep, err := inventory.Scan(context.Background(), c, inventory.Options{Variables: true})
	if err != nil {
		t.Fatal(err)
	}
	const ref = "project/acme/app:deploy_token:pull"
	journal := map[string]inventory.Delivered{tokenfind.Digest(secret.New(deploySecret)): {Ref: ref, TokenID: deploy.ID}}
	if _, err := inventory.Identify(context.Background(), c, rep, inventory.IdentifyOptions{Journal: journal, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if len(rep.Variables) != 1 {
		t.Fatalf("variables found: %+v", rep.Variables)
	}
	id := rep.Variables[0].Ident
	if id.Ref != ref || (id.Token != nil && id.Token.TokenKind() != gitlab.KindDeployToken) {
		t.Errorf("PULL_TOKEN identified as %s, token %+v; want the deploy token's ref and never access token %d", id.Ref, id.Token, access.ID)
	}
}
