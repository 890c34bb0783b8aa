package sim

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

func TestLoadFixture(t *testing.T) {
	s, _, fake := newConformance(t, Options{})
	if !fake.Now().Equal(t0) {
		t.Errorf("now = %v", fake.Now())
	}
	var bot Token
	for _, tk := range s.Tokens() {
		if tk.Name == "platform-bot" {
			bot = tk
		}
	}
	want := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	if bot.ResourceType != "group" || bot.AccessLevel != 40 || bot.Description != "deploys" || bot.ExpiresAt == nil || !bot.ExpiresAt.Equal(want) ||
		!bot.CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !bot.Active {
		t.Errorf("platform-bot = %+v", bot)
	}
	if g, ok := s.GroupByPath("platform/infra"); !ok || g.ParentID != 1 {
		t.Errorf("infra = %+v", g)
	}
}

func TestLoadFixtureErrors(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		real    bool
		want    string
	}{
		{"unknown top-level key", "groupz: []\n", false, "line 1: field groupz not found"},
		{"unknown token key", "groups:\n  - path: a\n    tokens:\n      - name: x\n        scopes: [api]\n        expires: 2027-01-01\n", false, "line 6: field expires not found in Token"},
		{"unknown group key", "groups:\n  - path: a\n    subgroups:\n      - path: b\n        project: []\n", false, "line 5: field project not found in Group"},
		{"bad date", "groups:\n  - path: a\n    tokens: [{name: x, scopes: [api], expires_at: soon}]\n", false, `line 3: "soon" is not a date`},
		{"unknown member", "groups:\n  - path: a\n    members:\n      - {user: nobody, access_level: 50}\n", false, `line 4: unknown user "nobody"`},
		{"bad scope", "groups:\n  - path: a\n    tokens:\n      - {name: x, scopes: [root]}\n", false, `line 4: sim: token "x": unknown scope "root"`},
		{"bad variable", "groups:\n  - path: a\n    variables:\n      - {key: X, value: short, masked: true}\n", false, "line 4: variable X: value is invalid"},
		{"now needs a fake clock", "now: 2026-01-01T00:00:00Z\n", true, "clock cannot be set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Clock: clock.NewFake(t0)}
			if tc.real {
				opts.Clock = clock.Real{}
			}
			s, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			err = s.LoadFixture(strings.NewReader(tc.fixture))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
