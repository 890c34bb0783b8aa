package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// verify is what a receiver does: recompute the HMAC over the raw body.
func verify(key string, body []byte, header string) bool {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(header))
}

func TestWebhookSignedJSON(t *testing.T) {
	const key = "whsec-correct-horse"
	rcv := newReceiver(t)
	wh := notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL + "/hook", Secret: secret.New(key), HTTPClient: rcv.Client()})
	e := expiringEvent(7 * 24 * time.Hour)
	if err := wh.Send(context.Background(), "d-1", e); err != nil {
		t.Fatal(err)
	}
	r := one(t, rcv.got(), "requests")
	if !verify(key, r.body, r.header.Get(notify.HeaderSignature)) {
		t.Errorf("signature %q does not verify with the secret", r.header.Get(notify.HeaderSignature))
	}
	if verify("another-key", r.body, r.header.Get(notify.HeaderSignature)) {
		t.Error("signature verifies with the wrong key")
	}
	for h, want := range map[string]string{
		notify.HeaderEvent:    "expiring",
		notify.HeaderDelivery: "d-1",
		"Content-Type":        "application/json",
	} {
		if v := r.header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	p := decodePayload(t, r.body)
	if p.Kind != notify.KindExpiring || p.TokenRef != "group/platform/infra:deploy" || p.Token.ID != 42 ||
		p.Threshold != "7d" || p.ThresholdSeconds != 7*86400 || p.Delivery != "d-1" || p.At != "2026-11-25T12:00:00Z" {
		t.Errorf("payload = %+v", p)
	}
	if want := "Token group/platform/infra:deploy expires on 2026-12-02 (in 6 days)"; p.Text != want {
		t.Errorf("text = %q, want %q", p.Text, want)
	}
	if strings.Contains(string(r.body), key) {
		t.Error("the signing secret is in the body")
	}
}

func TestWebhookUnsignedWithoutSecret(t *testing.T) {
	rcv := newReceiver(t)
	wh := notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL, HTTPClient: rcv.Client()})
	if err := wh.Send(context.Background(), "d-1", expiringEvent(0)); err != nil {
		t.Fatal(err)
	}
	if sig := rcv.got()[0].header.Get(notify.HeaderSignature); sig != "" {
		t.Errorf("signature %q sent without a secret", sig)
	}
}

func TestWebhookStatusDecidesRetry(t *testing.T) {
	tests := []struct {
		status    int
		wantErr   bool
		permanent bool
	}{
		{http.StatusOK, false, false},
		{http.StatusNoContent, false, false},
		{http.StatusInternalServerError, true, false},
		{http.StatusBadGateway, true, false},
		{http.StatusTooManyRequests, true, false},
		{http.StatusRequestTimeout, true, false},
		{http.StatusBadRequest, true, true},
		{http.StatusNotFound, true, true},
		{http.StatusUnauthorized, true, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			rcv := newReceiver(t, tt.status)
			wh := notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL, HTTPClient: rcv.Client()})
			err := wh.Send(context.Background(), "d", expiringEvent(0))
			if (err != nil) != tt.wantErr || notify.IsPermanent(err) != tt.permanent {
				t.Errorf("err = %v (permanent %v), want error %v permanent %v", err, notify.IsPermanent(err), tt.wantErr, tt.permanent)
			}
		})
	}
}
