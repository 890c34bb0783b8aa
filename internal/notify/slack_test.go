package notify_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

func TestSlackText(t *testing.T) {
	tests := []struct {
		name string
		e    notify.Event
		want string
	}{
		{"expiring", expiringEvent(7 * 24 * 3600e9), ":hourglass_flowing_sand: Token group/platform/infra:deploy expires on 2026-12-02 (in 6 days)"},
		{"rotation failed, escaped", notify.Event{Kind: notify.KindRotationFailed, TokenRef: "project/a/b:ci", Detail: "sink <file> & co failed"},
			":rotating_light: Rotation of token project/a/b:ci failed: sink &lt;file&gt; &amp; co failed"},
		{"new finding", notify.Event{Kind: notify.KindNewFinding,
			Token:   notify.Token{ID: 7, Name: "old", ResourceType: "project", ResourcePath: "a/b"},
			Finding: &notify.Finding{Code: "unused", Severity: "warning", Message: "not used for 120 days"}},
			":mag: New finding unused (warning) on unmanaged token project/a/b:old: not used for 120 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t)
			s := notify.NewSlack(notify.SlackConfig{WebhookURL: secret.New(rcv.URL + "/services/T0/B0/xyz"), HTTPClient: rcv.Client()})
			if err := s.Send(context.Background(), "d", tt.e); err != nil {
				t.Fatal(err)
			}
			var msg map[string]any
			if err := json.Unmarshal(rcv.got()[0].body, &msg); err != nil {
				t.Fatal(err)
			}
			if len(msg) != 1 || msg["text"] != tt.want {
				t.Errorf("slack message = %v, want only text %q", msg, tt.want)
			}
		})
	}
}

// The Slack webhook URL is the credential: no error or id may show it.
func TestSlackErrorsHideTheURL(t *testing.T) {
	const path = "/services/T000/B000/SLACKSECRETPART"
	rcv := newReceiver(t, 404)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + path
	l.Close()
	for _, url := range []string{rcv.URL + path, refused, "http://%zz" + path} {
		s := notify.NewSlack(notify.SlackConfig{WebhookURL: secret.New(url), HTTPClient: rcv.Client()})
		err := s.Send(context.Background(), "d", expiringEvent(0))
		if err == nil {
			t.Fatalf("%s: no error", url)
		}
		for _, s := range []string{err.Error(), s.ID()} {
			if strings.Contains(s, "SLACKSECRETPART") || strings.Contains(s, "/services/") {
				t.Errorf("error or id reveals the webhook URL: %s", s)
			}
		}
	}
}
