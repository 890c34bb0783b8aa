package main

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// renderInit renders the config init writes for tokens, as self on
// gitlab.example.com at now, adopting kinds (nil: the default); it fails
// the test unless the config loads and adopts want tokens.
func renderInit(t *testing.T, now time.Time, self gitlab.Token, kinds []string, tokens []gitlab.Token, want int) (*config.Config, []byte) {
	t.Helper()
	g := initConfig{URL: "https://gitlab.example.com", TokenRef: "token_env: GITLAB_TOKEN", Now: now, Self: self, Kinds: kinds, Thresholds: policy.DefaultThresholds()}
	data, adopted := g.render(tokens)
	c, err := config.Parse("tw.yaml", data)
	if err != nil {
		t.Fatalf("the config init writes does not load: %v\n%s", err, data)
	}
	if adopted != want || len(c.Tokens) != want {
		t.Fatalf("adopted %d, config has %d tokens; want %d:\n%s", adopted, len(c.Tokens), want, data)
	}
	return c, data
}

// TestInitConfigEdges: tokens whose real lifetime the config would refuse
// (a 3-day token, one that never expires, one due within expires_critical),
// names YAML would misread, a scope the config cannot name and the calling
// token: the config written loads, says what it did, and adopts what it can.
func TestInitConfigEdges(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	d := func(days int) *time.Time { x := now.AddDate(0, 0, days).Truncate(24 * time.Hour); return &x }
	prj := gitlab.Resource{Type: "project", ID: 2, Path: "acme/app"}
	tokens := []gitlab.Token{
		{ID: 1, Name: "short", Scopes: []string{"read_api"}, AccessLevel: 20, CreatedAt: now.AddDate(0, 0, -1), ExpiresAt: d(2), Resource: prj},
		{ID: 2, Name: "forever", Scopes: []string{"read_api"}, AccessLevel: 20, CreatedAt: now.AddDate(-1, 0, 0), Resource: prj},
		{ID: 3, Name: "yes: #no\n- x", Description: "a \"quoted\"\ndescription", Scopes: []string{"read_api"}, AccessLevel: 20,
			CreatedAt: now.AddDate(0, -1, 0), ExpiresAt: d(60), Resource: prj},
		{ID: 4, Name: "future-scope", Scopes: []string{"read_api", "read_something_new"}, AccessLevel: 20, CreatedAt: now, ExpiresAt: d(60), Resource: prj},
		{ID: 5, Name: "me", Scopes: []string{"api"}, AccessLevel: 40, CreatedAt: now, ExpiresAt: d(60), Resource: prj},
		{ID: 6, Name: "two-years", Scopes: []string{"read_api"}, AccessLevel: 20, CreatedAt: now.AddDate(-1, 0, 0), ExpiresAt: d(400), Resource: prj},
	}
	c, data := renderInit(t, now, tokens[4], nil, tokens, 4)
	byName := map[string]config.Token{}
	for _, tok := range c.Tokens {
		byName[tok.Name] = tok
	}
	if tok, ok := byName["yes: #no\n- x"]; !ok || tok.Description != "a \"quoted\"\ndescription" {
		t.Errorf("a name or description YAML would misread did not survive: %+v", byName)
	}
	if l := byName["short"].Lifetime; l != 9*24*time.Hour {
		t.Errorf("3-day token: lifetime %v, want 9d (expires_critical 7d + 2d, the least the config accepts)", l)
	}
	if l := byName["two-years"].Lifetime; l != 365*24*time.Hour {
		t.Errorf("lifetime %v, want 365d at most", l)
	}
	out := string(data)
	for _, want := range []string{
		"# due for renewal now (expires ",
		"# never expires: the first apply replaces it",
		`token "future-scope" (id 4): scopes [read_api read_something_new] are not ones a config can name`,
		`token "me" (id 5): the token tokenwarden runs with`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// TestInitConfigOtherKinds: deploy and trigger tokens are written with what
// their kinds have; one whose scopes or description a config cannot name is
// listed as not adopted; a rotation's marker is not part of the name; and a
// deploy token is not taken for the calling token because it shares its id
// (GitLab numbers each kind on its own).
func TestInitConfigOtherKinds(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	exp := now.AddDate(0, 3, 0)
	prj := gitlab.Resource{Type: "project", ID: 2, Path: "acme/app"}
	self := gitlab.Token{ID: 5, Name: "me", Scopes: []string{"api"}, AccessLevel: 50, CreatedAt: now, ExpiresAt: &exp, Resource: prj, UserID: 1}
	tokens := []gitlab.Token{
		self,
		{ID: 5, Kind: gitlab.KindDeployToken, Name: "pull [tokenwarden rot-0a1b]", Username: "gitlab+deploy-token-5", Scopes: []string{"read_registry"}, ExpiresAt: &exp, Resource: prj, UsageUnknown: true},
		{ID: 6, Kind: gitlab.KindDeployToken, Name: "future", Username: "bot", Scopes: []string{"read_registry", "read_something_new"}, ExpiresAt: &exp, Resource: prj},
		{ID: 1, Kind: gitlab.KindTriggerToken, Name: "", CreatedAt: now.AddDate(0, -1, 0), ExpiresAt: &exp, Resource: prj, UserID: 1},
		{ID: 2, Kind: gitlab.KindTriggerToken, Name: "nightly [tokenwarden rot-0c]", CreatedAt: now.AddDate(0, -1, 0), ExpiresAt: &exp, Resource: prj, UserID: 7, Owner: "bob"},
	}
	c, data := renderInit(t, now, self, initKindNames, tokens, 2) // deploy token pull, trigger token nightly
	for _, tok := range c.Tokens {
		switch tok.Name {
		case "pull":
			if tok.Kind != gitlab.KindDeployToken || tok.Username != "" || tok.Lifetime != config.DefaultLifetime {
				t.Errorf("deploy token entry %+v: want kind deploy_token, GitLab's own username (none written), the default lifetime", tok)
			}
		case "nightly":
			if tok.Kind != gitlab.KindTriggerToken || tok.Strategy != config.StrategyOverlap {
				t.Errorf("trigger token entry %+v: want kind trigger_token, overlap", tok)
			}
		default:
			t.Errorf("unexpected entry %q", tok.Name)
		}
	}
	out := string(data)
	for _, want := range []string{
		`deploy token "future" (id 6): scopes [read_registry read_something_new] are not ones a config can name`,
		`trigger token "" (id 1): it has no description`,
		"owned by bob: GitLab shows its secret to its owner only",
		"last used not reported by GitLab",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
