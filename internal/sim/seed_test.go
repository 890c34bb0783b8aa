package sim

import (
	"encoding/base64"
	"reflect"
	"regexp"
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

// TestGeneratorVariables: Options.Variables adds CI/CD variables holding
// live, expired, revoked, foreign and unknown tokens, masked and not, in
// file variables and hidden ones, without changing the instance's tokens.
func TestGeneratorVariables(t *testing.T) {
	plain := seeded(t, 7)
	s, err := New(Options{Clock: clock.NewFake(t0), Seed: 7, Groups: 40, ProjectsPerGroup: 10, TokensPerProject: 2, RootToken: rootSecret, Variables: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain.Tokens(), s.Tokens()) {
		t.Error("variables changed the generated tokens")
	}
	if plain.Stats().Variables != 0 {
		t.Errorf("an instance without Variables has %d variables", plain.Stats().Variables)
	}
	count := map[string]int{}
	tokenRE := regexp.MustCompile(`glpat-[A-Za-z0-9_-]{20}`)
	for _, v := range s.st.variables {
		value := v.Value
		if v.VariableType == "file" {
			count["file"]++
			if m, err := base64.StdEncoding.DecodeString(regexp.MustCompile(`"auth":"([^"]+)"`).FindStringSubmatch(value + `"auth":"x"`)[1]); err == nil {
				value += string(m)
			}
		}
		if v.Hidden {
			count["hidden"]++
		}
		secret := tokenRE.FindString(value)
		if secret == "" {
			count["no token"]++
			continue
		}
		if v.Masked {
			count["masked"]++
		} else {
			count["unmasked"]++
		}
		id, ok := s.st.byDigest[digest(secret)]
		if !ok {
			count["unknown"]++
			continue
		}
		tk := s.st.token(id)
		switch {
		case tk.Revoked:
			count["revoked"]++
		case tk.ExpiresAt != nil && !t0.Before(*tk.ExpiresAt):
			count["expired"]++
		default:
			count["live"]++
		}
		if tk.ResourceType != v.Kind || tk.ResourceID != v.ResourceID {
			count["foreign"]++
		}
	}
	t.Logf("variables: %d, %v", len(s.st.variables), count)
	for _, k := range []string{"file", "hidden", "no token", "masked", "unmasked", "unknown", "revoked", "expired", "live", "foreign"} {
		if count[k] == 0 {
			t.Errorf("no %s variable among %d", k, len(s.st.variables))
		}
	}
}
