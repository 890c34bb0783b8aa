// Package gitlab is tokenwarden's thin adapter over
// gitlab.com/gitlab-org/api/client-go, and the only package that imports it
// (boundary_test.go checks). It owns how tokenwarden talks to GitLab: which
// requests may be retried, how rate limits are respected, the small domain
// operations (inventory, mint, revoke, CI/CD variables) built on client-go's
// services, and what a failure means: every method's error is an *Error
// (errors.go), the one place where GitLab's error answers are decoded.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	gl "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/time/rate"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
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
	// Clock paces requests against RateLimit-Reset; nil means the wall clock.
	// When it is a clock.Sleeper (a simulation's clock.Virtual), the waits
	// between retries happen on it too, and take no real time.
	Clock clock.Clock
	// Timeout bounds each request: until the answer's headers and until its
	// body is read (time spent waiting for the rate limit does not count).
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// ThrottleRounds is how many rounds a read is sent while GitLab keeps
	// answering 429 after the retries (see retryThrottled); 0 means
	// DefaultThrottleRounds, 1 sends each read's retries once.
	ThrottleRounds int
}

// Client is tokenwarden's connection to one GitLab as one token: its
// methods are every call tokenwarden makes, and their errors are *Error.
// client-go stays inside this package.
type Client struct {
	api     *gl.Client
	baseURL string
	pacer   *pacer
	auth    *swappableToken
	timeout time.Duration
	// throttleRounds: Config.ThrottleRounds.
	throttleRounds int
	clk            clock.Clock
	cfg            Config // as given to New, for ForToken
}

// swappableToken is the client's credential; SetToken replaces it for every
// later request (the managing token renewed in place).
type swappableToken struct {
	mu  sync.RWMutex
	tok secret.Secret
}

func (*swappableToken) Init(context.Context, *gl.Client) error { return nil }

func (s *swappableToken) Header(context.Context) (string, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return gl.AccessTokenHeaderName, s.tok.Reveal(), nil
}

// SetToken makes every later request of this client (and so of everything
// that uses it, such as gitlab_variable sinks) authenticate with tok.
func (c *Client) SetToken(tok secret.Secret) {
	c.auth.mu.Lock()
	c.auth.tok = tok
	c.auth.mu.Unlock()
}

// Timeout is the deadline of each request.
func (c *Client) Timeout() time.Duration { return c.timeout }

// New returns a client whose retries never repeat a non-idempotent request
// (POST: create, rotate): a lost response to those is recovered by the engine
// through the journal, not by sending the request again. Every request has
// a deadline (Config.Timeout); one that runs out is not retried either.
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
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	// client-go installs interceptors into the HTTP client's transport, so
	// it gets a copy: the caller's client stays as it was.
	hc := cleanhttp.DefaultPooledClient()
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	base := strings.TrimRight(cfg.URL, "/")
	p := newPacer(clk, newGuard(hc.Transport, timeout, base))
	opts := []gl.ClientOptionFunc{
		gl.WithBaseURL(strings.TrimRight(cfg.URL, "/") + "/api/v4"),
		gl.WithCustomRetry(checkRetry),
		gl.WithCustomRetryMax(retryMax),
		gl.WithCustomRetryWaitMinMax(200*time.Millisecond, 30*time.Second),
		gl.WithCustomBackoff(backoffOn(clk)),
		gl.WithUserAgent("tokenwarden"),
		gl.WithHTTPClient(hc),
		gl.WithInterceptor(func(http.RoundTripper) http.RoundTripper { return p }),
		// The pacer does the rate limiting (see pacer.go); client-go's own
		// limiter would otherwise configure itself from the first response.
		gl.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)),
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
	auth := &swappableToken{tok: cfg.Token}
	api, err := gl.NewAuthSourceClient(auth, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	rounds := cfg.ThrottleRounds
	if rounds <= 0 {
		rounds = DefaultThrottleRounds
	}
	return &Client{api: api, baseURL: base, pacer: p, auth: auth, timeout: timeout, throttleRounds: rounds, clk: clk, cfg: cfg}, nil
}

// ForToken is a client of the same instance, with the same settings, that
// authenticates as tok.
func (c *Client) ForToken(tok secret.Secret) (*Client, error) {
	cfg := c.cfg
	cfg.Token = tok
	return New(cfg)
}

// Stats counts what the client sent: every HTTP request including retries,
// and how many of them GitLab answered with 429.
type Stats struct {
	Calls     int64
	Throttled int64
}

// Stats reports the requests made so far.
func (c *Client) Stats() Stats {
	return Stats{Calls: c.pacer.calls.Load(), Throttled: c.pacer.throttled.Load()}
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
	// A request that hung for the whole timeout would most likely hang
	// again: retrying would multiply the wait. An answer that is not from
	// GitLab's API will not become one.
	var te *TimeoutError
	var na *NotAPIError
	if errors.As(err, &te) || errors.As(err, &na) {
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

// backoffOn is backoff, with the wait spent on clk when it is a
// clock.Sleeper: retryablehttp then waits no real time.
func backoffOn(clk clock.Clock) func(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	sl, ok := clk.(clock.Sleeper)
	if !ok {
		return backoff
	}
	return func(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
		// No jitter: a simulation's time follows from its seed alone.
		sl.Sleep(backoffAt(sl.Now(), minWait, maxWait, attempt, resp, 0))
		return 0
	}
}

// backoff waits before a retry. On 429 it honours Retry-After (GitLab sends
// it with every throttled answer), falling back to RateLimit-Reset; client-go's
// default reads only RateLimit-Reset and adds up to the maximum wait as
// jitter. Otherwise it backs off exponentially from min, capped at max.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	return backoffAt(time.Now(), minWait, maxWait, attempt, resp, time.Duration(rand.Int64N(int64(100*time.Millisecond))))
}

// backoffAt is backoff at now with the given jitter.
func backoffAt(now time.Time, minWait, maxWait time.Duration, attempt int, resp *http.Response, jitter time.Duration) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := throttleWait(resp.Header, now); ok {
			return d + jitter
		}
		if reset, ok := headerInt(resp.Header, "RateLimit-Reset"); ok {
			if d := time.Unix(reset, 0).Sub(now); d > 0 && d <= maxWindow {
				return d + jitter
			}
		}
	}
	d := minWait << min(attempt, 16)
	if d <= 0 || d > maxWait {
		d = maxWait
	}
	return d + jitter
}
