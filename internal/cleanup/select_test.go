package cleanup

import (
	"errors"
	"slices"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) *time.Time { t := now.Add(-time.Duration(n) * duration.Day); return &t }
func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// tok is an active, recently used, well-described project token created 30
// days ago that expires next year: no selector matches it.
func tok(name string, edit ...func(*gitlab.Token)) gitlab.Token {
	t := gitlab.Token{
		ID: int64(len(name)), Name: name, Description: "used by " + name, Scopes: []string{"read_api"},
		AccessLevel: 20, CreatedAt: *daysAgo(30), ExpiresAt: date("2027-06-01"), LastUsedAt: daysAgo(1),
		Active: true, Resource: gitlab.Resource{Type: "project", ID: 7, Path: "platform/app"},
	}
	for _, e := range edit {
		e(&t)
	}
	return t
}

func lastUsed(n int) func(*gitlab.Token) { return func(t *gitlab.Token) { t.LastUsedAt = daysAgo(n) } }
func created(n int) func(*gitlab.Token)  { return func(t *gitlab.Token) { t.CreatedAt = *daysAgo(n) } }
func neverUsed(t *gitlab.Token)          { t.LastUsedAt = nil }
func revoked(t *gitlab.Token)            { t.Revoked, t.Active = true, false }
func expiresOn(s string) func(*gitlab.Token) {
	return func(t *gitlab.Token) { t.ExpiresAt = date(s) }
}
func inGroup(path string) func(*gitlab.Token) {
	return func(t *gitlab.Token) { t.Resource = gitlab.Resource{Type: "group", ID: 3, Path: path} }
}

func TestSelect(t *testing.T) {
	th := policy.DefaultThresholds()
	d90 := 90 * duration.Day
	tests := []struct {
		name        string
		tokens      []gitlab.Token
		c           Criteria
		want        []string // selected names, with their reasons
		wantManaged []string
	}{
		{
			name: "unused: last used before the window, or never used and older than it",
			tokens: []gitlab.Token{
				tok("idle", lastUsed(132)),
				tok("busy", lastUsed(89)),
				tok("forgotten", neverUsed, created(120)),
				tok("new", neverUsed, created(10)),
			},
			c:    Criteria{Unused: d90},
			want: []string{"idle: unused 132 days", "forgotten: never used, created 120 days ago"},
		},
		{
			name:   "exactly at the window is not over it",
			tokens: []gitlab.Token{tok("edge", lastUsed(90))},
			c:      Criteria{Unused: d90},
		},
		{
			name: "expired: the expiry date has passed (today counts: it stopped at 00:00 UTC)",
			tokens: []gitlab.Token{
				tok("old", expiresOn("2026-11-20")),
				tok("today", expiresOn("2026-11-25")),
				tok("tomorrow", expiresOn("2026-11-26")),
				tok("forever", func(t *gitlab.Token) { t.ExpiresAt = nil }),
			},
			c:    Criteria{Expired: true},
			want: []string{"old: expired on 2026-11-20", "today: expired on 2026-11-25"},
		},
		{
			name: "already revoked tokens are never selected",
			tokens: []gitlab.Token{
				tok("gone", revoked, expiresOn("2026-11-20"), lastUsed(200)),
			},
			c: Criteria{Unused: d90, Expired: true, Findings: []string{policy.CodeUndescriptiveName}},
		},
		{
			name: "finding: any scan finding code, with the scan's thresholds",
			tokens: []gitlab.Token{
				tok("test"),
				tok("ci-admin", func(t *gitlab.Token) { t.Scopes = []string{"api"} }),
				tok("deploy"),
			},
			c:    Criteria{Findings: []string{policy.CodeUndescriptiveName, policy.CodeOverPrivileged}},
			want: []string{"test: finding undescriptive-name", "ci-admin: finding over-privileged"},
		},
		{
			name:   "several selectors match: every reason is given",
			tokens: []gitlab.Token{tok("old", expiresOn("2026-11-01"), lastUsed(100))},
			c:      Criteria{Unused: d90, Expired: true, Findings: []string{policy.CodeExpired}},
			want:   []string{"old: unused 100 days; expired on 2026-11-01; finding expired"},
		},
		{
			name: "exclude: a name glob keeps a token",
			tokens: []gitlab.Token{
				tok("keep-me", lastUsed(200)),
				tok("break-glass-admin", lastUsed(200)),
				tok("stale", lastUsed(200)),
			},
			c:    Criteria{Unused: d90, Exclude: []string{"keep-*", "*glass*"}},
			want: []string{"stale: unused 200 days"},
		},
		{
			// Token names are free text: a "/" in one is not a path separator.
			name: "exclude: * also matches a slash in a name",
			tokens: []gitlab.Token{
				tok("break-glass/eu-prod", lastUsed(200)),
				tok("ci/deploy", lastUsed(200)),
				tok("stale", lastUsed(200)),
			},
			c:    Criteria{Unused: d90, Exclude: []string{"break-glass*", "ci/*"}},
			want: []string{"stale: unused 200 days"},
		},
		{
			name: "managed tokens are skipped, matched by resource type, path and name",
			tokens: []gitlab.Token{
				tok("deploy", lastUsed(200), inGroup("Platform")),
				tok("deploy", lastUsed(200)), // same name, another resource
				tok("other", lastUsed(200), inGroup("platform")),
			},
			c: Criteria{Unused: d90, Managed: map[string]bool{
				ManagedKey("group", "platform", "deploy"): true,
			}},
			want:        []string{"deploy: unused 200 days", "other: unused 200 days"},
			wantManaged: []string{"deploy: unused 200 days"},
		},
		{
			name:   "--include-managed revokes them too",
			tokens: []gitlab.Token{tok("deploy", lastUsed(200), inGroup("platform"))},
			c: Criteria{Unused: d90, IncludeManaged: true, Managed: map[string]bool{
				ManagedKey("group", "platform", "deploy"): true,
			}},
			want: []string{"deploy: unused 200 days"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Thresholds = th
			if err := tt.c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			sel := Select(tt.tokens, now, tt.c)
			if got := describeAll(sel.Revoke); !slices.Equal(got, tt.want) {
				t.Errorf("selected:\n got %q\nwant %q", got, tt.want)
			}
			if got := describeAll(sel.Managed); !slices.Equal(got, tt.wantManaged) {
				t.Errorf("managed:\n got %q\nwant %q", got, tt.wantManaged)
			}
		})
	}
}

func describeAll(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Token.Name+": "+c.Reason)
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Criteria
		want error
	}{
		{"no selector", Criteria{Exclude: []string{"x"}}, ErrNoSelector},
		{"unknown finding", Criteria{Findings: []string{"stale"}}, ErrBadCriteria},
		{"bad glob", Criteria{Expired: true, Exclude: []string{"[abc"}}, ErrBadCriteria},
		{"ok", Criteria{Findings: []string{policy.CodeNoDescription}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.Validate(); !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

// A deploy token tokenwarden created carries the rotation marker in its
// name; revoke must still see it as managed.
func TestManagedDeployTokenWithMarker(t *testing.T) {
	dt := tok("pull [tokenwarden rot-0123456789abcdef]", func(t *gitlab.Token) {
		t.Kind, t.Resource = gitlab.KindDeployToken, gitlab.Resource{Type: "project", Path: "acme/app"}
		t.ExpiresAt = date("2026-11-01")
	})
	c := Criteria{Expired: true, Managed: map[string]bool{ManagedKey("project", "acme/app", "pull"): true}}
	sel := Select([]gitlab.Token{dt}, now, c)
	if len(sel.Managed) != 1 || len(sel.Revoke) != 0 {
		t.Fatalf("managed %d, to revoke %d: want the deploy token protected as managed", len(sel.Managed), len(sel.Revoke))
	}
}
