package doctor

import (
	"context"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

var simNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const rootSecret = "glpat-RootRootRootRootRoot"

func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// runAt runs the chain at simNow for a well-formed access token in
// APP_TOKEN against the server at url, waiting timeout for each answer
// (0: the default).
func runAt(url string, timeout time.Duration) Report {
	in := Input{Token: secret.New("glpat-AbcdefghijKLMNOPQRST"), Origin: Origin{Kind: "env", Name: "APP_TOKEN", Found: true}, URL: url}
	return Run(context.Background(), in, Config{Clock: clock.NewFake(simNow), Timeout: timeout})
}

// instance is a small GitLab: group platform with project app, a private
// project elsewhere, a human Reporter, and one token per way a token breaks.
func instance(t *testing.T) (string, map[string]string) {
	t.Helper()
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootSecret})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	platform, err := srv.CreateGroup("platform", 0)
	must(err)
	app, err := srv.CreateProject("app", platform.ID)
	must(err)
	other, err := srv.CreateGroup("other", 0)
	must(err)
	_, err = srv.CreateProject("secret", other.ID)
	must(err)
	alice, err := srv.CreateUser("alice", false)
	must(err)
	must(srv.AddMember("group", platform.ID, alice.ID, levelReporter))

	secrets := map[string]string{}
	project := []struct {
		name   string
		scopes []string
		level  int
		exp    string
		revok  bool
	}{
		{"healthy", []string{"read_api", "write_repository"}, levelDeveloper, "2027-03-01", false},
		{"expiring", []string{"read_api"}, levelDeveloper, "2026-11-30", false},
		{"expired", []string{"read_api"}, levelDeveloper, "2026-11-20", false},
		{"revoked", []string{"read_api"}, levelDeveloper, "2027-03-01", true},
		{"api", []string{"api"}, levelDeveloper, "2027-03-01", false},
		{"reporter", []string{"read_api", "write_repository"}, levelReporter, "2027-03-01", false},
		{"push-only", []string{"write_repository"}, levelDeveloper, "2027-03-01", false},
	}
	for _, p := range project {
		_, sec, err := srv.CreateAccessToken("project", app.ID, sim.TokenSpec{Name: p.name, Description: "doctor test", Scopes: p.scopes,
			AccessLevel: p.level, ExpiresAt: date(p.exp), Revoked: p.revok})
		must(err)
		secrets[p.name] = sec
	}
	_, sec, err := srv.CreatePersonalToken(alice.ID, sim.TokenSpec{Name: "alice-laptop", Scopes: []string{"read_api"}, ExpiresAt: date("2027-03-01")})
	must(err)
	secrets["alice"] = sec
	_, sec, err = srv.CreatePersonalToken(alice.ID, sim.TokenSpec{Name: "alice-push", Scopes: []string{"read_api", "write_repository"}, ExpiresAt: date("2027-03-01")})
	must(err)
	secrets["alice-push"] = sec
	secrets["unknown"] = "glpat-UnknownUnknownUnknown"
	return url, secrets
}

func TestAgainstGitLab(t *testing.T) {
	url, secrets := instance(t)
	tests := []struct {
		name     string
		token    string
		need     string
		project  string
		group    string
		lookup   bool
		healthy  bool
		at       string // the check that fails, or warns when healthy
		detail   string
		fix      string
		warnings int
	}{
		{name: "healthy", token: "healthy", need: "read_api,push", project: "platform/app", healthy: true,
			at: "access", detail: "reaches project platform/app as Developer (30); push (write_repository) needs Developer (30)"},
		{name: "healthy without needs", token: "healthy", healthy: true, at: "scopes", detail: "scopes read_api, write_repository (no --need given"},
		{name: "expires in 5 days", token: "expiring", need: "read_api", healthy: true, warnings: 1,
			at: "valid", detail: `"expiring" is active but expires in 5 days, on 2026-11-30`, fix: "rotate it before 2026-11-30"},
		{name: "expired", token: "expired", at: "valid", detail: "GitLab says the token expired", fix: "an expired token cannot be renewed"},
		{name: "expired, with a lookup token the instance cannot answer", token: "expired", lookup: true, at: "valid", detail: "GitLab says the token expired"},
		{name: "revoked", token: "revoked", at: "valid", detail: "GitLab says the token was revoked", fix: "a revoked token never works again"},
		{name: "unknown", token: "unknown", at: "valid", detail: "does not know this token (401 Unauthorized)", fix: "belongs to another GitLab instance"},
		{name: "missing scope", token: "expiring", warnings: 1, need: "read_api,push", at: "scopes",
			detail: "the token has scopes read_api, which do not cover push (write_repository)", fix: "create a new one with scopes read_api, write_repository"},
		{name: "over-privileged", token: "api", need: "api-read", healthy: true, warnings: 1, at: "scopes",
			detail: "over-privileged: the token has api, but api-read (read_api) needs only read_api", fix: "scopes read_api only"},
		{name: "project out of reach", token: "healthy", need: "read_api,push", project: "other/secret", at: "access",
			detail: "project other/secret does not exist, or the token's user cannot see it (404)"},
		{name: "project that does not exist", token: "healthy", project: "platform/nope", at: "access", detail: "project platform/nope does not exist"},
		{name: "bot role too low", token: "reporter", need: "read_api,push", project: "platform/app", at: "access",
			detail: "has Reporter (20) on project platform/app, but push (write_repository) needs Developer (30) or higher", fix: "cannot be changed: create a new token with access level Developer (30)"},
		{name: "human member of the group", token: "alice", need: "read_api", group: "platform", healthy: true, at: "access", detail: "reaches group platform as Reporter (20)"},
		{name: "human without the scope", token: "alice", need: "read_api,push", project: "platform/app", at: "scopes", detail: "do not cover push"},
		{name: "human role too low", token: "alice-push", need: "read_api,push", project: "platform/app", at: "access",
			detail: "has Reporter (20) on project platform/app, but push (write_repository) needs Developer (30)", fix: "ask an Owner of project platform/app to give alice the Developer (30) role"},
		{name: "human not a member", token: "alice", need: "read_api", project: "other/secret", at: "access", detail: "does not exist, or the token's user cannot see it"},
		{name: "no API scope to check the project", token: "push-only", need: "push", project: "platform/app", healthy: true, warnings: 1, at: "access",
			detail: "cannot check access to project platform/app: the token's scopes do not include the API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needs, err := ParseNeeds(tt.need)
			if err != nil {
				t.Fatal(err)
			}
			in := Input{Token: secret.New(secrets[tt.token]), Origin: Origin{Kind: "env", Name: "APP_TOKEN", Found: true},
				URL: url, Needs: needs, Project: tt.project, Group: tt.group}
			if tt.lookup {
				in.Lookup = secret.New(rootSecret)
			}
			rep := Run(context.Background(), in, Config{Clock: clock.NewFake(simNow)})
			if rep.Healthy != tt.healthy {
				t.Fatalf("healthy = %v, want %v: %+v", rep.Healthy, tt.healthy, rep.Checks)
			}
			if rep.Warnings() != tt.warnings {
				t.Errorf("%d warnings, want %d: %+v", rep.Warnings(), tt.warnings, rep.Checks)
			}
			got := find(t, rep, tt.at)
			if !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("%s: detail %q does not contain %q", tt.at, got.Detail, tt.detail)
			}
			if !strings.Contains(got.Fix, tt.fix) {
				t.Errorf("%s: fix %q does not contain %q", tt.at, got.Fix, tt.fix)
			}
			if got.Status != StatusOK && got.Fix == "" {
				t.Errorf("%s is %s without a fix", tt.at, got.Status)
			}
			assertNoSecret(t, rep, secrets[tt.token])
		})
	}
}
