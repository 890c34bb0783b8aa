package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// TestRegisterConfigSecrets: every secret a config names, by variable or
// file, and the well-known secret variables are known to the redactor once
// the config is loaded.
func TestRegisterConfigSecrets(t *testing.T) {
	dir := t.TempDir()
	values := map[string]string{
		"managing token":     "glpat-managing-from-file-01",
		"webhook secret":     "hooksecret-0123456789",
		"slack url":          "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
		"smtp password":      "smtppass-0123456789",
		"dashboard password": "dashboard-0123456789",
		"self token":         "glpat-self-token-000000001",
		"PGPASSWORD":         "pgpass-0123456789",
		"GITLAB_TOKEN":       "glpat-from-the-environment-1",
	}
	t.Setenv("HOOK_KEY", values["webhook secret"])
	t.Setenv("SMTP_PW", values["smtp password"])
	t.Setenv("DASH_PW", values["dashboard password"])
	t.Setenv("BOT_TOKEN", values["self token"])
	t.Setenv("PGPASSWORD", values["PGPASSWORD"])
	t.Setenv("GITLAB_TOKEN", values["GITLAB_TOKEN"])
	cfg := &config.Config{
		State:  "sqlite://" + filepath.Join(dir, "tw.db"),
		GitLab: config.GitLab{URL: "https://gitlab.example.com", TokenFile: writeFile(t, dir, "root.token", values["managing token"]+"\n")},
		Notify: []config.Notify{
			{Webhook: &config.WebhookNotify{URL: "https://h.example.com", SecretEnv: "HOOK_KEY"}},
			{Slack: &config.SlackNotify{WebhookURLFile: writeFile(t, dir, "slack.url", values["slack url"]+"\n")}},
			{Email: &config.EmailNotify{PasswordEnv: "SMTP_PW"}},
		},
		Serve:  config.Serve{PasswordEnv: "DASH_PW"},
		Tokens: []config.Token{{Name: "bot", Group: "g", Strategy: config.StrategySelf, TokenEnv: "BOT_TOKEN"}},
	}
	red := secret.NewRedactor()
	registerConfigSecrets(red, cfg)
	for what, v := range values {
		if got := red.Scrub("x " + v + " y"); got != "x [REDACTED] y" {
			t.Errorf("%s not registered: %q", what, got)
		}
	}
}

type recordingNotifier struct{ got []notify.Event }

func (n *recordingNotifier) Notify(_ context.Context, e notify.Event) error {
	n.got = append(n.got, e)
	return nil
}

func TestRedactingNotifier(t *testing.T) {
	const tok = "glpat-managing-admin-token-01"
	red := secret.NewRedactor()
	red.Add(secret.New(tok))
	rec := &recordingNotifier{}
	n := redactingNotifier{n: rec, r: red}
	finding := &notify.Finding{Code: "x", Message: "seen " + tok, Fix: "revoke " + tok}
	if err := n.Notify(context.Background(), notify.Event{Kind: notify.KindRotationFailed, Detail: "hook said " + tok, Finding: finding}); err != nil {
		t.Fatal(err)
	}
	e := rec.got[0]
	for _, s := range []string{e.Detail, e.Finding.Message, e.Finding.Fix} {
		if strings.Contains(s, tok) || !strings.Contains(s, secret.Redacted) {
			t.Errorf("notification text %q: want the token redacted", s)
		}
	}
	if !strings.Contains(finding.Message, tok) {
		t.Error("the caller's finding was changed in place")
	}
}
