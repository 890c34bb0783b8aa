package notify_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

func TestFromConfig(t *testing.T) {
	const key = "whsec-from-env"
	rcv := newReceiver(t)
	slackFile := filepath.Join(t.TempDir(), "slack.url")
	simtest.WriteFile(t, slackFile, rcv.URL+"/services/T/B/SECRETSLACK\n")
	t.Setenv("TW_HOOK_SECRET", key)
	chans, err := notify.FromConfig([]config.Notify{
		{Webhook: &config.WebhookNotify{URL: rcv.URL + "/hook", SecretEnv: "TW_HOOK_SECRET"}},
		{Slack: &config.SlackNotify{WebhookURLFile: slackFile}},
		{Email: &config.EmailNotify{SMTPHost: "mail.example.com", SMTPPort: 587, From: "tw@example.com", To: []string{"ops@example.com"}}},
	}, notify.ChannelOptions{HTTPClient: rcv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range chans {
		ids = append(ids, c.ID()[:strings.IndexByte(c.ID(), '-')])
	}
	if strings.Join(ids, ",") != "webhook,slack,email" {
		t.Fatalf("channels = %v", ids)
	}
	for _, c := range chans[:2] {
		if err := c.Send(context.Background(), "d", expiringEvent(0)); err != nil {
			t.Fatal(err)
		}
	}
	got := rcv.got()
	if !verify(key, got[0].body, got[0].header.Get(notify.HeaderSignature)) {
		t.Error("webhook not signed with the secret from the environment")
	}
	if len(got) != 2 {
		t.Errorf("requests = %d, want webhook and slack", len(got))
	}
}

func TestFromConfigErrorsNameTheEntry(t *testing.T) {
	_, err := notify.FromConfig([]config.Notify{
		{Webhook: &config.WebhookNotify{URL: "https://hooks.example.com"}},
		{Slack: &config.SlackNotify{WebhookURLEnv: "TW_UNSET_SLACK_URL"}},
		{Email: &config.EmailNotify{SMTPHost: "h", From: "tw@example.com", To: []string{"ops@example.com"}, Username: "u", PasswordFile: "/nonexistent/pw"}},
	}, notify.ChannelOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"notify[1] slack webhook_url", "TW_UNSET_SLACK_URL", "notify[2] email password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "notify[0]") {
		t.Errorf("error blames the valid webhook: %v", err)
	}
}
