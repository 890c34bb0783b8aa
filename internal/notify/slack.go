package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// SlackConfig is a Slack incoming webhook. Its URL is itself the credential.
type SlackConfig struct {
	WebhookURL secret.Secret
	HTTPClient *http.Client // nil: a default client
}

// Slack posts {"text": Event.Summary()} to an incoming webhook.
type Slack struct {
	cfg SlackConfig
	id  string
}

// NewSlack returns the channel for cfg.
func NewSlack(cfg SlackConfig) *Slack {
	cfg.HTTPClient = orDefault(cfg.HTTPClient)
	return &Slack{cfg: cfg, id: "slack-" + shortHash(cfg.WebhookURL.Reveal())}
}

// ID implements Channel.
func (s *Slack) ID() string { return s.id }

// Send implements Channel.
func (s *Slack) Send(ctx context.Context, _ string, e Event) error {
	body, err := json.Marshal(struct {
		Text string `json:"text"`
	}{slackText(e)})
	if err != nil {
		return Permanent(fmt.Errorf("%s: encode: %w", s.id, err))
	}
	return post(ctx, s.cfg.HTTPClient, s.cfg.WebhookURL.Reveal(), s.id, body, nil)
}

// slackText is the summary with Slack's three control characters escaped
// (https://api.slack.com/reference/surfaces/formatting#escaping) and an
// emoji saying how bad it is.
func slackText(e Event) string {
	icon := ":information_source:"
	switch e.Kind {
	case KindExpiring:
		icon = ":hourglass_flowing_sand:"
	case KindExpired, KindRotationFailed:
		icon = ":rotating_light:"
	case KindRotated:
		icon = ":white_check_mark:"
	case KindNewFinding:
		icon = ":mag:"
	}
	return icon + " " + slackEscape(e.Summary())
}

func slackEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			out = append(out, "&amp;"...)
		case '<':
			out = append(out, "&lt;"...)
		case '>':
			out = append(out, "&gt;"...)
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}
