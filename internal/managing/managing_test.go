package managing_test

import (
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
)

func TestNeeds(t *testing.T) {
	cfg := &config.Config{Tokens: []config.Token{
		{Name: "ci", Group: "acme", AccessLevel: 30},
		{Name: "deploy", Project: "acme/app", AccessLevel: 20,
			Deliver: []config.Sink{{Kind: "gitlab_variable", Settings: &gitlabvar.Config{Project: "acme/other", Key: "TOKEN"}}}},
		{Name: "admin", Project: "acme/app", AccessLevel: 50},
		{Name: "sa", Kind: "service_account_token", Group: "acme", ServiceAccount: "svc-ci"},
		{Name: "backup", Kind: "service_account_token", ServiceAccount: "svc-backup"},
	}}
	write, needs := managing.Needs(cfg)
	if !write {
		t.Error("a config that manages tokens does not need the write scope")
	}
	want := []managing.Need{
		{Kind: "group", Path: "acme", Level: 50, Why: "create and rotate group/acme:ci"},
		{Kind: "project", Path: "acme/app", Level: 50, Why: "create and rotate project/acme/app:admin"},
		{Kind: "project", Path: "acme/other", Level: 40, Why: "write CI/CD variable TOKEN for project/acme/app:deploy"},
		{Kind: "instance", Level: 40, Why: "create and rotate user/svc-backup:service_account_token:backup"},
	}
	if len(needs) != len(want) {
		t.Fatalf("Needs = %+v, want %+v", needs, want)
	}
	for i := range want {
		if needs[i] != want[i] {
			t.Errorf("need %d = %+v, want %+v", i, needs[i], want[i])
		}
	}
	if write, needs := managing.Needs(&config.Config{}); write || len(needs) != 0 {
		t.Errorf("an empty config needs %v, %+v", write, needs)
	}
}

func TestLevelAt(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	th := managing.Thresholds{Warning: 30 * 24 * time.Hour, Critical: 7 * 24 * time.Hour}
	for _, tc := range []struct {
		exp  string
		want string
	}{
		{"2027-06-01", managing.LevelOK},
		{"2026-12-20", managing.LevelWarning},
		{"2026-11-27", managing.LevelCritical},
		{"2026-11-25", managing.LevelExpired},
	} {
		e, _ := time.Parse(time.DateOnly, tc.exp)
		if got := managing.LevelAt(&e, now, th); got != tc.want {
			t.Errorf("LevelAt(%s) = %s, want %s", tc.exp, got, tc.want)
		}
	}
	if got := managing.LevelAt(nil, now, th); got != managing.LevelOK {
		t.Errorf("a token without expiry is %s", got)
	}
}
