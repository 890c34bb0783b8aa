// Package gitlab is tokenwarden's thin adapter over
// gitlab.com/gitlab-org/api/client-go. It owns how tokenwarden talks to GitLab:
// which requests may be retried, how rate limits are respected, and the small
// domain operations (inventory, mint, revoke) built on client-go's services.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Config says how to reach a GitLab instance.
type Config struct {
	URL        string        // base URL of the instance, e.g. https://gitlab.example.com
	Token      secret.Secret // the calling token
	HTTPClient *http.Client  // optional; the emulator's test server client in tests
	Logger     *slog.Logger  // optional
	RetryMax   int           // retries of idempotent requests; 0 means the default (5)
	// OnResponse, when set, is called for every HTTP response (metrics, call counting).
	OnResponse func(method string, code int)
}

// Client is a configured client-go client plus tokenwarden's operations.
type Client struct {
	API     *gl.Client
	baseURL string
}

// New returns a client whose retries never repeat a non-idempotent request
// (POST: create, rotate): a lost response to those is recovered by the engine
// through the journal, not by sending the request again.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("gitlab: no URL given")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gitlab: invalid URL %q (want http(s)://host)", cfg.URL)
	}
	retryMax := cfg.RetryMax
	if retryMax == 0 {
		retryMax = 5
	}
	opts := []gl.ClientOptionFunc{
		gl.WithBaseURL(strings.TrimRight(cfg.URL, "/") + "/api/v4"),
		gl.WithCustomRetry(checkRetry),
		gl.WithCustomRetryMax(retryMax),
		gl.WithCustomRetryWaitMinMax(200*time.Millisecond, 30*time.Second),
		gl.WithUserAgent("tokenwarden"),
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, gl.WithHTTPClient(cfg.HTTPClient))
	}
	if cfg.Logger != nil {
		opts = append(opts, gl.WithURLWarningLogger(cfg.Logger))
	}
	if cfg.OnResponse != nil {
		hook := cfg.OnResponse
		opts = append(opts, gl.WithResponseLogHook(func(_ retryablehttp.Logger, resp *http.Response) {
			hook(resp.Request.Method, resp.StatusCode)
		}))
	}
	api, err := gl.NewClient(cfg.Token.Reveal(), opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	return &Client{API: api, baseURL: strings.TrimRight(cfg.URL, "/")}, nil
}

// BaseURL is the instance URL the client was made for (without /api/v4).
func (c *Client) BaseURL() string { return c.baseURL }

// idempotent reports whether repeating a request with this method cannot
// change the outcome. DELETE counts: revoking twice is harmless, and the
// second answer (404) is treated as done by callers.
func idempotent(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// checkRetry retries idempotent requests on 429, 5xx and transport errors,
// and never retries anything else.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	method := ""
	if resp != nil && resp.Request != nil {
		method = resp.Request.Method
	} else {
		// net/http names the method in url.Error.Op ("Get", "Post", …).
		var ue *url.Error
		if errors.As(err, &ue) {
			method = ue.Op
		}
	}
	if !idempotent(method) {
		return false, nil
	}
	if err != nil {
		// A host that does not exist will not appear on the next try.
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return false, nil
		}
		return true, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return true, nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return true, nil
	}
	return false, nil
}
