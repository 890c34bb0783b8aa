package gitlab

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// A Retry-After far beyond GitLab's 60-second windows (a proxy's, or a
// number too big for time.Duration) waits at most one window, never a day
// or a negative time.
func TestThrottleWaitIsBounded(t *testing.T) {
	for _, v := range []string{"86400", "99999999999", "9223372036854775807"} {
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {v}}}
		got := backoff(200*time.Millisecond, 30*time.Second, 1, resp)
		if got <= 0 || got > maxWindow+100*time.Millisecond {
			t.Errorf("Retry-After %s: backoff waits %v, want (0, %v]", v, got, maxWindow)
		}
		if d, ok := throttleWait(resp.Header, time.Now()); !ok || d <= 0 || d > maxWindow {
			t.Errorf("Retry-After %s: throttleWait = %v, %v", v, d, ok)
		}
	}
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}}
	if got := backoff(200*time.Millisecond, 30*time.Second, 1, resp); got < 3*time.Second || got > 3*time.Second+100*time.Millisecond {
		t.Errorf("Retry-After 3: backoff waits %v", got)
	}
}

// A read that GitLab refuses with 429 whatever happens ends as rate limited
// after a few rounds instead of retrying for ever.
func TestEndlessThrottlingFails(t *testing.T) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`))
	}))
	defer ts.Close()
	c, err := New(Config{URL: ts.URL, Token: secret.New("glpat-xxxxxxxxxxxxxxxxxxxx"), RetryMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = c.CurrentUser(ctx)
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("CurrentUser = %v, want ErrRateLimited", err)
	}
	if n := calls.Load(); n != 2*DefaultThrottleRounds {
		t.Errorf("%d requests, want %d (2 tries in each of %d rounds)", n, 2*DefaultThrottleRounds, DefaultThrottleRounds)
	}
}

// On a simulation's virtual clock the waits between retries (backoff after
// a 5xx, Retry-After after a 429, the rounds of a throttled read) are spent
// on that clock, not in real time.
func TestRetriesWaitOnAVirtualClock(t *testing.T) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case n <= 2:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"message":"503 Service Unavailable"}`))
		case n <= 4:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message":"Retry later"}`))
		default:
			_, _ = w.Write([]byte(`{"id":1,"username":"root"}`))
		}
	}))
	defer ts.Close()
	t0 := time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(t0)
	c, err := New(Config{URL: ts.URL, Token: secret.New("glpat-xxxxxxxxxxxxxxxxxxxx"), RetryMax: 2, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatalf("CurrentUser: %v", err)
	}
	// Two backoffs (200 ms, 400 ms), then 7 s twice for the 429s.
	if got := clk.Now().Sub(t0); got < 14*time.Second+600*time.Millisecond {
		t.Errorf("the virtual clock moved %s; want the retries' waits (at least 14.6s) spent on it", got)
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}
