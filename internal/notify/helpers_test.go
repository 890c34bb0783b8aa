package notify_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// one is the one item a test expects got (what it counts) to hold.
func one[T any](t *testing.T, got []T, what string) T {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("%s = %d, want 1", what, len(got))
	}
	return got[0]
}

// receiver is an httptest server that records requests and answers with
// the next status from a script (200 once the script runs out).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	script   []int
	requests []received
	hang     chan struct{} // non-nil: block every request until closed
}

type received struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, script ...int) *receiver {
	t.Helper()
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.hang != nil {
			select {
			case <-r.hang:
			case <-req.Context().Done():
			}
		}
		r.mu.Lock()
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.requests = append(r.requests, received{header: req.Header.Clone(), body: body, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

// delivered counts the requests answered with 2xx.
func (r *receiver) delivered() int {
	n := 0
	for _, q := range r.got() {
		if q.status < 300 {
			n++
		}
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newLogger() (*slog.Logger, *simtest.Buffer) {
	lb := &simtest.Buffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

var (
	t0      = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	expires = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
)

func expiringEvent(threshold time.Duration) notify.Event {
	exp := expires
	return notify.Event{
		Kind:     notify.KindExpiring,
		TokenRef: "group/platform/infra:deploy",
		Token: notify.Token{ID: 42, Name: "deploy", ResourceType: "group", ResourcePath: "platform/infra",
			Scopes: []string{"api"}, ExpiresAt: &exp},
		Threshold: threshold,
		At:        t0,
	}
}

func decodePayload(t *testing.T, body []byte) notify.WebhookPayload {
	t.Helper()
	var p notify.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, body)
	}
	return p
}
