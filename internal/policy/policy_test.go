package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func date(s string) *time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return &t
}

// good is a token no check complains about; cases change one thing.
func good() gitlab.Token {
	return gitlab.Token{
		ID: 1, Name: "deploy-registry-read", Description: "pulls images for prod",
		Scopes: []string{"read_registry"}, AccessLevel: gitlab.AccessReporter,
		CreatedAt: *date("2026-09-01"), ExpiresAt: date("2027-02-01"), LastUsedAt: date("2026-11-24"),
		Active:   true,
		Resource: gitlab.Resource{Type: "group", ID: 2, Path: "platform/infra"},
	}
}

func TestEvaluate(t *testing.T) {
	type want struct{ code, severity string }
	tests := []struct {
		name   string
		modify func(*gitlab.Token)
		want   []want
	}{
		{"healthy token has no findings", func(*gitlab.Token) {}, nil},
		{"expired yesterday: only expired", func(tk *gitlab.Token) {
			tk.ExpiresAt, tk.Name, tk.Scopes, tk.Description = date("2026-11-24"), "test", []string{"api"}, ""
		}, []want{{CodeExpired, SeverityCritical}}},
		{"expires_at today is already expired", func(tk *gitlab.Token) { tk.ExpiresAt = date("2026-11-25") },
			[]want{{CodeExpired, SeverityCritical}}},
		{"revoked: nothing", func(tk *gitlab.Token) {
			tk.Revoked, tk.Name, tk.ExpiresAt = true, "test", date("2026-11-24")
		}, nil},
		{"expires in 3 days: critical", func(tk *gitlab.Token) { tk.ExpiresAt = date("2026-11-28") },
			[]want{{CodeExpiresSoon, SeverityCritical}}},
		{"expires in 8 days: warning", func(tk *gitlab.Token) { tk.ExpiresAt = date("2026-12-03") },
			[]want{{CodeExpiresSoon, SeverityWarning}}},
		{"expires in 31 days: nothing", func(tk *gitlab.Token) { tk.ExpiresAt = date("2026-12-27") }, nil},
		{"unused 120 days", func(tk *gitlab.Token) { tk.LastUsedAt = date("2026-07-28") },
			[]want{{CodeUnused, SeverityWarning}}},
		{"used 89 days ago is fine", func(tk *gitlab.Token) { tk.LastUsedAt = date("2026-08-28") }, nil},
		{"never used, old", func(tk *gitlab.Token) { tk.LastUsedAt = nil },
			[]want{{CodeNeverUsed, SeverityWarning}}},
		{"never used, created 2 days ago: grace", func(tk *gitlab.Token) {
			tk.LastUsedAt, tk.CreatedAt = nil, *date("2026-11-23")
		}, nil},
		{"api scope and owner", func(tk *gitlab.Token) {
			tk.Scopes, tk.AccessLevel = []string{"api"}, gitlab.AccessOwner
		}, []want{{CodeOverPrivileged, SeverityWarning}}},
		{"maintainer with read_api is fine", func(tk *gitlab.Token) {
			tk.Scopes, tk.AccessLevel = []string{"read_api"}, gitlab.AccessMaintainer
		}, nil},
		{"lives 365 days", func(tk *gitlab.Token) { tk.CreatedAt, tk.ExpiresAt = *date("2026-06-01"), date("2027-06-01") },
			[]want{{CodeLongLived, SeverityWarning}}},
		{"never expires", func(tk *gitlab.Token) { tk.ExpiresAt = nil },
			[]want{{CodeLongLived, SeverityWarning}}},
		{"named test", func(tk *gitlab.Token) { tk.Name = "test" },
			[]want{{CodeUndescriptiveName, SeverityWarning}}},
		{"no description", func(tk *gitlab.Token) { tk.Description = "  " },
			[]want{{CodeNoDescription, SeverityInfo}}},
		{"several, most severe first", func(tk *gitlab.Token) {
			tk.Name, tk.Description, tk.ExpiresAt, tk.Scopes = "token", "", date("2026-11-28"), []string{"api"}
		}, []want{{CodeExpiresSoon, SeverityCritical}, {CodeOverPrivileged, SeverityWarning}, {CodeUndescriptiveName, SeverityWarning}, {CodeNoDescription, SeverityInfo}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := good()
			tt.modify(&tok)
			var got []want
			for _, f := range Evaluate(tok, now, DefaultThresholds()) {
				if f.Message == "" || f.Fix == "" {
					t.Errorf("finding %s has an empty message or fix: %+v", f.Code, f)
				}
				got = append(got, want{f.Code, f.Severity})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestThresholdsAreHonoured(t *testing.T) {
	tok := good()
	tok.ExpiresAt = date("2026-12-20") // 25 days
	th := DefaultThresholds()
	th.ExpiresWarning = 14 * 24 * time.Hour
	if fs := Evaluate(tok, now, th); len(fs) != 0 {
		t.Errorf("with a 14d warning window, 25 days left gave %v", fs)
	}
	th.MaxLifetime = 0 // disabled
	tok.ExpiresAt = nil
	if fs := Evaluate(tok, now, th); len(fs) != 0 {
		t.Errorf("with long-lived disabled, a never-expiring token gave %v", fs)
	}
}

func TestMessages(t *testing.T) {
	tok := good()
	tok.ExpiresAt = date("2026-11-28")
	tok.Scopes = []string{"api"}
	fs := Evaluate(tok, now, DefaultThresholds())
	if len(fs) != 2 {
		t.Fatalf("got %v", fs)
	}
	if want := "expires on 2026-11-28 (in 3 days)"; fs[0].Message != want {
		t.Errorf("expires-soon message = %q, want %q", fs[0].Message, want)
	}
	if !strings.Contains(fs[1].Fix, "read_api") {
		t.Errorf("over-privileged fix should suggest read_api: %q", fs[1].Fix)
	}
	if !strings.Contains(fs[0].Fix, "platform/infra:deploy-registry-read") {
		t.Errorf("expires-soon fix should name the token: %q", fs[0].Fix)
	}
}

func TestUndescriptive(t *testing.T) {
	tests := map[string]bool{
		"test": true, "TEST": true, "Test-2": true, "my_token": true, "My Token": true, "new token": true,
		"asdf": true, "foo": true, "tmp": true, "token1": true, "": true, "  ": true,
		"deploy-registry-read": false, "ci-test-runner": false, "renovate": false, "tokenwarden": false,
	}
	for name, want := range tests {
		if got := Undescriptive(name); got != want {
			t.Errorf("Undescriptive(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDaysLeft(t *testing.T) {
	tests := []struct {
		exp  *time.Time
		want int
		ok   bool
	}{
		{date("2026-11-28"), 3, true},
		{date("2026-11-25"), 0, true},
		{date("2026-11-20"), -5, true},
		{nil, 0, false},
	}
	for _, tt := range tests {
		tok := good()
		tok.ExpiresAt = tt.exp
		got, ok := DaysLeft(tok, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DaysLeft(%v) = %d, %v; want %d, %v", tt.exp, got, ok, tt.want, tt.ok)
		}
	}
}
