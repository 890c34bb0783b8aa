package main

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

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
	g := initConfig{URL: "https://gitlab.example.com", TokenRef: "token_env: GITLAB_TOKEN", Now: now, Self: 5, Thresholds: policy.DefaultThresholds()}
	data, adopted := g.render(tokens)
	c, err := config.Parse("tw.yaml", data)
	if err != nil {
		t.Fatalf("the config init writes does not load: %v\n%s", err, data)
	}
	if adopted != 4 || len(c.Tokens) != 4 {
		t.Fatalf("adopted %d, config has %d tokens; want 4:\n%s", adopted, len(c.Tokens), data)
	}
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
