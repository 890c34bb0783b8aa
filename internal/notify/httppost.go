package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// post sends body to dest and turns the answer into an error. what names
// the destination in errors: the URL's error text is dropped because a Slack
// webhook URL is a secret and a webhook URL may carry one in its query.
func post(ctx context.Context, hc *http.Client, dest, what string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("%s: invalid URL", what))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tokenwarden")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	// Read a little so the connection can be reused; never echo it: a
	// receiver's error page is not ours to log.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	default:
		return Permanent(fmt.Errorf("%s: HTTP %d", what, resp.StatusCode))
	}
}

// shortHash names a destination without revealing it.
// endpoint is what the HTTP channels share: an ID made from a digest of
// their destination (never the destination: a Slack URL is a credential)
// and the client they post with.
type endpoint struct {
	id     string
	client *http.Client
}

func newEndpoint(kind, dest string, hc *http.Client) endpoint {
	return endpoint{id: kind + "-" + shortHash(dest), client: orDefault(hc)}
}

// ID implements Channel.
func (e endpoint) ID() string { return e.id }

// postJSON posts v as JSON to dest, with the headers header makes for
// the encoded body (nil: none of its own).
func (e endpoint) postJSON(ctx context.Context, dest string, v any, header func(body []byte) http.Header) error {
	body, err := json.Marshal(v)
	if err != nil {
		return Permanent(fmt.Errorf("%s: encode: %w", e.id, err))
	}
	var h http.Header
	if header != nil {
		h = header(body)
	}
	return post(ctx, e.client, dest, e.id, body, h)
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

func orDefault(hc *http.Client) *http.Client {
	if hc != nil {
		return hc
	}
	return &http.Client{}
}
