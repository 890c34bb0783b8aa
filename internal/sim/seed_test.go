package sim

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

func seeded(t *testing.T, seed int64) *Server {
	t.Helper()
	s, err := New(Options{Clock: clock.NewFake(t0), Seed: seed, Groups: 40, ProjectsPerGroup: 10, TokensPerProject: 2, RootToken: rootSecret})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGeneratorDeterministic(t *testing.T) {
	a, b, c := seeded(t, 7), seeded(t, 7), seeded(t, 8)
	if !reflect.DeepEqual(a.Tokens(), b.Tokens()) {
		t.Error("same seed gave different tokens")
	}
	if reflect.DeepEqual(a.Tokens(), c.Tokens()) {
		t.Error("different seeds gave the same tokens")
	}
	st := a.Stats()
	if st.Groups != 40 || st.Projects != 400 || st.ProjectTokens != 800 || st.GroupTokens != 40 {
		t.Errorf("stats = %+v", st)
	}
}

func TestGeneratorSpread(t *testing.T) {
	s := seeded(t, 42)
	now := t0
	today := dateOf(now)
	count := map[string]int{}
	nested := 0
	for _, g := range s.st.groups {
		if g.ParentID != 0 {
			nested++
		}
	}
	for _, tk := range s.Tokens() {
		if tk.ResourceType == "" {
			continue
		}
		switch {
		case tk.ExpiresAt == nil:
			count["no expiry"]++
		case tk.Expired:
			count["expired"]++
		case tk.ExpiresAt.Sub(today) <= 7*24*time.Hour:
			count["7d"]++
		case tk.ExpiresAt.Sub(today) <= 30*24*time.Hour:
			count["30d"]++
		default:
			count["long"]++
		}
		if tk.ExpiresAt != nil && tk.ExpiresAt.Sub(tk.CreatedAt) > 365*24*time.Hour {
			t.Errorf("token %d lives longer than 365 days", tk.ID)
		}
		if tk.LastUsedAt == nil {
			count["never used"]++
		} else if now.Sub(*tk.LastUsedAt) > 90*24*time.Hour {
			count["unused 90d"]++
		} else if now.Sub(*tk.LastUsedAt) < 7*24*time.Hour {
			count["recent"]++
		}
		if tk.Revoked {
			count["revoked"]++
		}
		if slices.Contains(badNames, tk.Name) {
			count["bad name"]++
		}
		if tk.Description == "" {
			count["no description"]++
		}
		if slices.Equal(tk.Scopes, []string{"api"}) {
			count["api"]++
		}
		if slices.Equal(tk.Scopes, []string{"read_api"}) {
			count["read_api"]++
		}
		count[itoa(tk.AccessLevel)]++
	}
	for _, k := range []string{"expired", "7d", "30d", "long", "never used", "unused 90d", "recent", "revoked", "bad name", "no description", "api", "read_api", "50", "40", "30", "20"} {
		if count[k] < 8 {
			t.Errorf("only %d tokens in category %q: %v", count[k], k, count)
		}
	}
	if count["api"] < count["read_api"] {
		t.Errorf("want mostly api scopes: %v", count)
	}
	if nested < 4 {
		t.Errorf("only %d subgroups", nested)
	}
}
