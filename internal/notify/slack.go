package notify

import (
	"context"
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
	endpoint
	url secret.Secret
}

// NewSlack returns the channel for cfg.
func NewSlack(cfg SlackConfig) *Slack {
	return &Slack{endpoint: newEndpoint("slack", cfg.WebhookURL.Reveal(), cfg.HTTPClient), url: cfg.WebhookURL}
}

// Send implements Channel.
func (s *Slack) Send(ctx context.Context, _ string, e Event) error {
	return s.postJSON(ctx, s.url.Reveal(), struct {
		Text string `json:"text"`
	}{slackText(e)}, nil)
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
