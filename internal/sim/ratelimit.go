package sim

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateLimiter is GitLab's throttle_authenticated_api: a fixed 60-second
// window per user, on the server's clock.
type rateLimiter struct {
	limit int
	mu    sync.Mutex
	seen  map[int64]window
}

type window struct {
	start int64 // unix minute
	n     int
}

func newRateLimiter(limit int) *rateLimiter {
	return &rateLimiter{limit: limit, seen: map[int64]window{}}
}

// allow counts one request of uid and sets the RateLimit-* headers; over the
// limit it answers 429 itself and returns false.
func (l *rateLimiter) allow(w http.ResponseWriter, uid int64, now time.Time) bool {
	if l.limit <= 0 {
		return true
	}
	l.mu.Lock()
	minute := now.Unix() / 60
	win := l.seen[uid]
	if win.start != minute {
		win = window{start: minute}
	}
	win.n++
	l.seen[uid] = win
	l.mu.Unlock()

	reset := time.Unix((minute+1)*60, 0).UTC()
	h := w.Header()
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", strconv.Itoa(l.limit))
	h.Set("RateLimit-Observed", strconv.Itoa(win.n))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(l.limit-win.n, 0)))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if win.n <= l.limit {
		return true
	}
	h.Set("Retry-After", strconv.FormatInt(max(int64(reset.Sub(now).Seconds()+0.999), 1), 10))
	h.Set("RateLimit-ResetTime", reset.Format(http.TimeFormat))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
	return false
}
