package soak

import (
	"encoding/binary"
	"hash/fnv"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
)

// transport carries the clients' requests to the emulator in-process: no
// sockets and no goroutines of its own. It also injects the scenario's
// faults, the way the emulator's injector (sim.Faults) does — 5xx, 429 with
// Retry-After, a connection reset before the request is handled, a request
// carried out in full whose answer is lost — but decided per request from
// the seed, the request itself and how often that same request was made:
// the daemon lists resources concurrently (plan, scan), and a decision that
// depended on the order requests arrive in would not replay. While down is
// set, every request fails as if GitLab could not be reached.
type transport struct {
	h    http.Handler
	seed uint64

	mu      sync.Mutex
	down    bool
	episode int // numbers fault episodes, so that each decides afresh
	fault   *fault
	re      *regexp.Regexp
	left    int            // drops and resets of writes still to inject
	seen    map[string]int // method+URI → times requested in this episode
	calls   int            // requests that reached the emulator
	writes  int            // of which POST, PUT, DELETE
	faulted int            // requests a fault hit
}

func (t *transport) setDown(v bool) {
	t.mu.Lock()
	t.down = v
	t.mu.Unlock()
}

// setFault starts an episode of f, or ends it (nil).
func (t *transport) setFault(f *fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.episode++
	t.fault, t.re, t.seen = f, nil, map[string]int{}
	if f != nil {
		t.left = f.n
		if f.path != "" {
			t.re = regexp.MustCompile(f.path)
		}
	}
}

func (t *transport) counts() (calls, writes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls, t.writes
}

// outcome is what the transport does with one request.
type outcome int

const (
	pass outcome = iota
	refuse
	fail5xx
	throttle
	reset
	drop
)

// decide picks the request's fate under the current fault.
func (t *transport) decide(req *http.Request) outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down {
		return refuse
	}
	t.calls++
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	if write {
		t.writes++
	}
	f := t.fault
	if f == nil {
		return pass
	}
	key := req.Method + " " + req.URL.RequestURI()
	t.seen[key]++
	// A fair coin per request, from the seed, the episode, the request
	// and its repetition: the same whatever order requests come in.
	hs := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], t.seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(t.episode)<<32|uint64(t.seen[key]))
	hs.Write(b[:])
	hs.Write([]byte(key))
	coin := float64(hs.Sum64()>>11) / (1 << 53)
	matches := (f.method == "" || f.method == req.Method) && (t.re == nil || t.re.MatchString(req.URL.Path))
	switch f.what {
	case "fail-rate":
		if coin < f.rate {
			t.faulted++
			return fail5xx
		}
	case "throttle":
		if coin < f.rate {
			t.faulted++
			return throttle
		}
	case "reset", "drop":
		if !matches {
			return pass
		}
		if write {
			// Writes come one at a time: the next n are hit.
			if t.left > 0 {
				t.left--
				t.faulted++
				if f.what == "drop" {
					return drop
				}
				return reset
			}
			return pass
		}
		if coin < 0.5 {
			t.faulted++
			return reset
		}
	}
	return pass
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	o := t.decide(req)
	switch o {
	case refuse:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	case reset:
		return nil, connReset()
	case fail5xx:
		return answer(req, http.StatusInternalServerError, "application/json", `{"message":"500 Internal Server Error"}`), nil
	case throttle:
		resp := answer(req, http.StatusTooManyRequests, "text/plain", "Retry later\n")
		resp.Header.Set("Retry-After", "1")
		return resp, nil
	}
	in := req.Clone(req.Context())
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "192.0.2.1:40000"
	w := httptest.NewRecorder()
	aborted := serve(t.h, w, in)
	if aborted || o == drop { // drop: carried out in full, the answer lost
		return nil, connReset()
	}
	resp := w.Result()
	resp.Request = req
	if strings.EqualFold(req.Method, http.MethodHead) {
		resp.Body = http.NoBody
	}
	return resp, nil
}

func connReset() error {
	return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

func answer(req *http.Request, code int, ctype, body string) *http.Response {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(code)
	_, _ = w.WriteString(body)
	resp := w.Result()
	resp.Request = req
	return resp
}

// serve runs h; it reports whether h aborted (http.ErrAbortHandler: the
// emulator hijacks and closes the connection, which a recorder cannot).
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				aborted = true
				return
			}
			panic(v)
		}
	}()
	h.ServeHTTP(w, r)
	return false
}
