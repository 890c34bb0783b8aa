package soak

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
)

// transport carries the clients' requests to the emulator in-process: no
// sockets, no goroutines, and so a deterministic order of requests. A fault
// that resets or drops the connection (the emulator aborts its handler)
// comes back as a connection reset; while down is set, every request fails
// as if GitLab could not be reached.
type transport struct {
	h http.Handler

	mu     sync.Mutex
	down   bool
	calls  int // requests that reached the emulator
	writes int // of which POST, PUT, DELETE
}

func (t *transport) setDown(v bool) {
	t.mu.Lock()
	t.down = v
	t.mu.Unlock()
}

func (t *transport) counts() (calls, writes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls, t.writes
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	down := t.down
	if !down {
		t.calls++
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			t.writes++
		}
	}
	t.mu.Unlock()
	if req.Body != nil {
		defer req.Body.Close()
	}
	if down {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	in := req.Clone(req.Context())
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "192.0.2.1:40000"
	w := httptest.NewRecorder()
	if aborted := serve(t.h, w, in); aborted {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	resp := w.Result()
	resp.Request = req
	if strings.EqualFold(req.Method, http.MethodHead) {
		resp.Body = http.NoBody
	}
	return resp, nil
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
