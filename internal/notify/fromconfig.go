package notify

import (
	"errors"
	"fmt"
	"net/http"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// ChannelOptions are what the channels need besides the configuration.
type ChannelOptions struct {
	HTTPClient *http.Client // webhook and Slack; nil: a client with a 30s timeout
	Clock      clock.Clock  // mail Date headers; nil: the wall clock
}

// FromConfig builds one channel per entry of the configuration's notify
// list, reading their secrets (webhook signing key, Slack URL, SMTP
// password) from the environment or files. Errors name the entry
// ("notify[1] slack: …"), never a secret.
func FromConfig(entries []config.Notify, opts ChannelOptions) ([]Channel, error) {
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultSendTimeout}
	}
	var chans []Channel
	var errs []error
	for i, n := range entries {
		where := fmt.Sprintf("notify[%d]", i)
		switch {
		case n.Webhook != nil:
			var key secret.Secret
			if n.Webhook.SecretEnv != "" || n.Webhook.SecretFile != "" {
				s, err := config.LoadSecret(n.Webhook.SecretEnv, n.Webhook.SecretFile)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s webhook secret: %w", where, err))
					continue
				}
				key = s
			}
			chans = append(chans, NewWebhook(WebhookConfig{URL: n.Webhook.URL, Secret: key, HTTPClient: hc}))
		case n.Slack != nil:
			u, err := config.LoadSecret(n.Slack.WebhookURLEnv, n.Slack.WebhookURLFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s slack webhook_url: %w", where, err))
				continue
			}
			chans = append(chans, NewSlack(SlackConfig{WebhookURL: u, HTTPClient: hc}))
		case n.Email != nil:
			e := n.Email
			var pw secret.Secret
			if e.PasswordEnv != "" || e.PasswordFile != "" {
				s, err := config.LoadSecret(e.PasswordEnv, e.PasswordFile)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s email password: %w", where, err))
					continue
				}
				pw = s
			}
			ch, err := NewEmail(EmailConfig{
				Host: e.SMTPHost, Port: e.SMTPPort, From: e.From, To: e.To,
				Username: e.Username, Password: pw, Clock: opts.Clock,
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %w", where, err))
				continue
			}
			chans = append(chans, ch)
		default:
			errs = append(errs, fmt.Errorf("%s: no channel configured", where))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return chans, nil
}
