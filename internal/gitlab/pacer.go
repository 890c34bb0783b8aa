package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// pacer keeps a client under GitLab's rate limit. GitLab counts requests per
// user in fixed 60-second windows and reports the budget left in every
// response (RateLimit-Remaining, RateLimit-Reset). The pacer lets requests
// through while the last reported budget, minus the requests still in
// flight, is positive, and otherwise holds them until the window resets. So
// a scan runs at full concurrency when the budget allows and never spends
// more than it has, including budget other clients of the same user use.
//
// client-go's built-in limiter is not enough for this: it is configured once
// from the first response's RateLimit-Limit (concurrent first requests all
// pass unconfigured), then spreads requests at 2/3 of the limit regardless of
// what is left — slow when the budget is ample and blind to other clients.
//
// It sits in the HTTP transport, so retries are paced and counted too.
type pacer struct {
	clk  clock.Clock
	next http.RoundTripper

	calls     atomic.Int64
	throttled atomic.Int64

	mu        sync.Mutex
	known     bool      // a budget has been reported for the current window
	remaining int       // the lowest RateLimit-Remaining seen in the window
	resetAt   time.Time // when the window ends
	inflight  int
	wake      chan struct{} // closed when the budget may have changed
}

// maxWindow bounds a wait for the budget: GitLab's windows last 60 s.
const maxWindow = 61 * time.Second

func newPacer(clk clock.Clock, next http.RoundTripper) *pacer {
	if next == nil {
		next = http.DefaultTransport
	}
	return &pacer{clk: clk, next: next, wake: make(chan struct{})}
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := p.acquire(req.Context()); err != nil {
		return nil, err
	}
	p.calls.Add(1)
	resp, err := p.next.RoundTrip(req)
	p.release(resp)
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		p.throttled.Add(1)
	}
	return resp, err
}

// acquire waits until the budget allows one more request.
func (p *pacer) acquire(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.clk.Now()
		if p.known && !now.Before(p.resetAt) {
			p.known = false // a new window: the next response will say
		}
		if !p.known || p.remaining-p.inflight > 0 {
			p.inflight++
			p.mu.Unlock()
			return nil
		}
		wait := p.resetAt.Sub(now)
		wake := p.wake
		p.mu.Unlock()

		t := p.clk.NewTimer(wait)
		select {
		case <-t.C():
		case <-wake:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// release records what a response says about the budget.
func (p *pacer) release(resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	defer func() {
		close(p.wake)
		p.wake = make(chan struct{})
	}()
	if resp == nil {
		return
	}
	now := p.clk.Now()
	remaining, okRem := headerInt(resp.Header, "RateLimit-Remaining")
	reset, okReset := headerInt(resp.Header, "RateLimit-Reset")
	if resp.StatusCode == http.StatusTooManyRequests {
		// Whatever the headers say, the budget is spent until Retry-After.
		remaining, okRem = 0, true
		if d, ok := retryAfter(resp.Header, now); ok {
			reset, okReset = now.Add(d).Unix(), true
		}
	}
	if !okRem || !okReset {
		return
	}
	resetAt := time.Unix(reset, 0)
	if resetAt.After(now.Add(maxWindow)) {
		// A skewed server clock must not park the scan for longer than a window.
		resetAt = now.Add(maxWindow)
	}
	switch {
	case !p.known || resetAt.After(p.resetAt):
		p.known, p.remaining, p.resetAt = true, int(remaining), resetAt
	case resetAt.Equal(p.resetAt) && int(remaining) < p.remaining:
		// Responses arrive out of order; the lowest count is the latest.
		p.remaining = int(remaining)
	}
}

func headerInt(h http.Header, key string) (int64, bool) {
	v := h.Get(key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// retryAfter reads Retry-After (seconds or an HTTP date) relative to now.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		if s > int64(maxWindow/time.Second) {
			// Beyond any window (and, far enough, beyond time.Duration).
			return maxWindow, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// throttleWait is how long to wait before repeating a throttled request:
// Retry-After, but never longer than one of GitLab's rate-limit windows, so
// that a proxy's or a confused server's "Retry-After: 86400" delays a scan by
// a minute, not a day.
func throttleWait(h http.Header, now time.Time) (time.Duration, bool) {
	d, ok := retryAfter(h, now)
	if !ok {
		return 0, false
	}
	return min(d, maxWindow), true
}
