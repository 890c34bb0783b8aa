package soak

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
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
	srv  *sim.Server // h's emulator: whose token a write concerns; nil: not counted
	seed uint64

	mu       sync.Mutex
	down     bool
	episode  int // numbers fault episodes, so that each decides afresh
	fault    *fault
	re       *regexp.Regexp
	seen     map[string]int // request key → times requested in this episode
	calls    int            // requests that reached the emulator
	writes   int            // of which POST, PUT, DELETE
	writesOf map[string]int // writes by the name of the token they concern
	// writeLog is, by the name of the token they concern, each write and
	// what the transport did with it.
	writeLog map[string][]writeCall
	faulted  int // requests a fault hit
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

// writesFor is the number of writes so far that concern the tokens named
// name: a token's rotations come one at a time, so the writes between two
// of its steps are its rotation's, whatever other rotations run beside it.
func (t *transport) writesFor(name string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writesOf[name]
}

// writesOfLog is the log of the writes that concern the tokens named name,
// n of them from the from-th on.
func (t *transport) writesOfLog(name string, from, n int) []writeCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	log := t.writeLog[name]
	from = min(from, len(log))
	return slices.Clone(log[from:min(from+n, len(log))])
}

var (
	tokenIDRE  = regexp.MustCompile(`/access_tokens/([0-9]+)(/rotate)?$`)
	variableRE = regexp.MustCompile(`/variables/([A-Za-z0-9_]+)$`)
)

// concerns names the managed token a request is about, "" when it cannot
// tell: the token it creates, rotates or revokes, the one it authenticates
// with (self rotation, verification), or the one a CI/CD variable holds
// (the scenario's variable keys begin with the token's name).
func (t *transport) concerns(req *http.Request, body []byte) string {
	if t.srv == nil {
		return ""
	}
	if m := tokenIDRE.FindStringSubmatch(req.URL.Path); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if tok, ok := t.srv.Token(id); ok {
			return tok.Name
		}
	}
	if m := variableRE.FindStringSubmatch(req.URL.Path); m != nil {
		return variableOwner(m[1])
	}
	var doc struct{ Name, Key string }
	if json.Unmarshal(body, &doc) == nil {
		switch {
		case strings.HasSuffix(req.URL.Path, "/access_tokens") && doc.Name != "":
			return doc.Name
		case strings.HasSuffix(req.URL.Path, "/variables") && doc.Key != "":
			return variableOwner(doc.Key)
		}
	}
	auth := req.Header.Get("PRIVATE-TOKEN")
	if v, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		auth = v
	}
	if tok, ok := t.srv.TokenBySecret(auth); ok && auth != rootToken {
		return tok.Name
	}
	return ""
}

// variableOwner is the token whose sink a variable key is: T007_1 → t007.
func variableOwner(key string) string {
	name, _, _ := strings.Cut(key, "_")
	return strings.ToLower(name)
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

var outcomeNames = [...]string{pass: "passed", refuse: "refused", fail5xx: "500", throttle: "429", reset: "reset", drop: "done, answer dropped"}

// writeCall is one write request and what the transport did with it.
type writeCall struct {
	req string // "DELETE /api/v4/groups/4/access_tokens/2036"
	o   outcome
}

// done reports whether GitLab carried the write out: one refused, throttled,
// failed with a 500 or reset on the way never reached it.
func (w writeCall) done() bool { return w.o == pass || w.o == drop }

func (w writeCall) String() string { return w.req + " → " + outcomeNames[w.o] }

// decide picks the request's fate under the current fault.
func (t *transport) decide(req *http.Request, body []byte) (o outcome) {
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	whose := ""
	if write || t.srv != nil {
		whose = t.concerns(req, body)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down {
		return refuse
	}
	t.calls++
	if write {
		t.writes++
		if t.writesOf == nil {
			t.writesOf, t.writeLog = map[string]int{}, map[string][]writeCall{}
		}
		t.writesOf[whose]++
		n := len(t.writeLog[whose])
		t.writeLog[whose] = append(t.writeLog[whose], writeCall{req: req.Method + " " + req.URL.Path})
		defer func() { t.writeLog[whose][n].o = o }()
	}
	f := t.fault
	if f == nil {
		return pass
	}
	// The request as its sender sees it: two tokens' rotations side by
	// side send different keys, so that each request's repetition (a
	// retry) is counted in its own sequence, whatever order the
	// rotations' requests interleave in.
	key := req.Method + " " + req.URL.RequestURI() + " " + whose
	t.seen[key]++
	rep := t.seen[key]
	coin := t.coin(uint64(t.episode)<<32|uint64(rep), key)
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
			// Each write's first n tries are hit, each on a fair coin
			// (a drop only the first: its retry would find the write
			// done).
			if rep <= f.n && (f.what == "reset" || rep == 1) && coin < 0.5 {
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

// coin is a fair coin from the seed, n and key: the same whatever order
// requests and steps come in.
func (t *transport) coin(n uint64, key string) float64 {
	hs := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], t.seed)
	binary.LittleEndian.PutUint64(b[8:], n)
	hs.Write(b[:])
	hs.Write([]byte(key))
	return float64(hs.Sum64()>>11) / (1 << 53)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		defer req.Body.Close()
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	o := t.decide(req, body)
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
