package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Webhook request headers.
const (
	HeaderSignature = "X-Tokenwarden-Signature" // "sha256=" + hex HMAC-SHA256 of the body
	HeaderEvent     = "X-Tokenwarden-Event"     // the event kind
	HeaderDelivery  = "X-Tokenwarden-Delivery"  // the same on every retry of one delivery
)

// WebhookConfig is a generic JSON webhook.
type WebhookConfig struct {
	URL        string
	Secret     secret.Secret // zero: requests are not signed
	HTTPClient *http.Client  // nil: a default client
}

// Webhook POSTs each event as JSON (see WebhookPayload), signed with
// HMAC-SHA256 of the body when a secret is set.
type Webhook struct {
	endpoint
	cfg WebhookConfig
}

// NewWebhook returns the channel for cfg.
func NewWebhook(cfg WebhookConfig) *Webhook {
	return &Webhook{endpoint: newEndpoint("webhook", cfg.URL, cfg.HTTPClient), cfg: cfg}
}

// WebhookPayload is the JSON body of a webhook request.
type WebhookPayload struct {
	Delivery         string   `json:"delivery"`
	Kind             Kind     `json:"kind"`
	At               string   `json:"at"` // RFC 3339, UTC
	TokenRef         string   `json:"token_ref"`
	Token            Token    `json:"token"`
	Threshold        string   `json:"threshold,omitempty"` // e.g. "7d"
	ThresholdSeconds int64    `json:"threshold_seconds,omitempty"`
	Finding          *Finding `json:"finding,omitempty"`
	RotationID       string   `json:"rotation_id,omitempty"`
	Detail           string   `json:"detail,omitempty"`
	Text             string   `json:"text"` // Event.Summary
}

// Payload builds the webhook body for e.
func Payload(deliveryID string, e Event) WebhookPayload {
	p := WebhookPayload{
		Delivery: deliveryID, Kind: e.Kind, At: e.At.UTC().Format(time.RFC3339),
		TokenRef: e.Ref(), Token: e.Token, Finding: e.Finding,
		RotationID: e.RotationID, Detail: e.Detail, Text: e.Summary(),
	}
	if e.Threshold > 0 {
		p.Threshold = duration.Format(e.Threshold)
		p.ThresholdSeconds = int64(e.Threshold / time.Second)
	}
	return p
}

// Sign returns the signature header value for body: "sha256=" followed by
// the hex HMAC-SHA256 of body keyed with key. Receivers recompute it over
// the raw body and compare in constant time.
func Sign(key secret.Secret, body []byte) string {
	m := hmac.New(sha256.New, []byte(key.Reveal()))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send implements Channel.
func (w *Webhook) Send(ctx context.Context, deliveryID string, e Event) error {
	return w.postJSON(ctx, w.cfg.URL, Payload(deliveryID, e), func(body []byte) http.Header {
		h := http.Header{}
		h.Set(HeaderEvent, string(e.Kind))
		h.Set(HeaderDelivery, deliveryID)
		if !w.cfg.Secret.IsZero() {
			h.Set(HeaderSignature, Sign(w.cfg.Secret, body))
		}
		return h
	})
}
