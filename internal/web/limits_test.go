package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/web"
)

// from sends one request straight to the handler as if it came from the
// peer at addr ("ip:port"), and returns the response.
func (s *site) from(addr, method, path string, form url.Values, hdr map[string]string) *http.Response {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = addr
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec.Result()
}

func (s *site) guess(addr, pw string, hdr map[string]string) int {
	s.t.Helper()
	return s.from(addr, "POST", "/login", url.Values{"password": {pw}, "next": {"/"}}, hdr).StatusCode
}

// wantGuess is guess, checked: an answer other than want is an error,
// named by what.
func (s *site) wantGuess(addr, pw string, hdr map[string]string, want int, what string) {
	s.t.Helper()
	if code := s.guess(addr, pw, hdr); code != want {
		s.t.Errorf("%s: %d, want %d", what, code, want)
	}
}

// TestLoginSprayDoesNotResetLimits: one failed login from each of 10,050
// addresses used to fill the limiter past 10,000 entries, wipe it, and let
// the first address guess again. Spraying must not buy guesses: the total
// checked stays small, and the first address is still refused afterwards,
// even with the right password (a correct guess must not be reachable).
func TestLoginSprayDoesNotResetLimits(t *testing.T) {
	s := newSite(t, false)
	checked := 0
	for i := range 10050 {
		addr := fmt.Sprintf("10.%d.%d.%d:40000", i>>16&0xff, i>>8&0xff, i&0xff)
		switch code := s.guess(addr, "guess", nil); code {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if checked > 500 {
		t.Errorf("spraying 10,050 addresses got %d wrong guesses checked; the global budget should stop it far earlier", checked)
	}
	s.wantGuess("10.0.0.0:40001", "guess", nil, http.StatusTooManyRequests, "the first sprayed address guesses again")
	s.wantGuess("10.0.0.0:40001", password, nil, http.StatusTooManyRequests, "the first sprayed address sends the right password while over the budget")
}

// TestLoginIPv6SharesLimitPer64: a single host gets a whole /64, so every
// address in it is one source.
func TestLoginIPv6SharesLimitPer64(t *testing.T) {
	s := newSite(t, false)
	for i := 1; i <= 5; i++ {
		if code := s.guess(fmt.Sprintf("[2001:db8:1:2::%x]:5000", i), "guess", nil); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	s.wantGuess("[2001:db8:1:2:ffff:ffff:ffff:ffff]:5000", "guess", nil, http.StatusTooManyRequests, "6th guess from another address in the same /64")
	s.wantGuess("[2001:db8:1:3::1]:5000", password, nil, http.StatusSeeOther, "the right password from the next /64 (a login)")
}

// TestLoginGlobalBudget: failures from many sources share one budget. Once
// it is spent, a source that never logged in is refused, while a source that
// did (the operator, a scraper) and open sessions keep working.
func TestLoginGlobalBudget(t *testing.T) {
	s := newSite(t, false)
	const operator = "192.0.2.10:1234"
	if code := s.guess(operator, password, nil); code != http.StatusSeeOther {
		t.Fatalf("operator login: %d", code)
	}
	c := s.client()
	s.login(c) // a session opened before the spray

	spent := 0
	for i := 0; ; i++ {
		if i == 5000 {
			t.Fatal("5000 sources with one wrong guess each were all checked: no global budget")
		}
		code := s.guess(fmt.Sprintf("198.51.%d.%d:999", i>>8&0xff, i&0xff), "guess", nil)
		if code == http.StatusTooManyRequests {
			spent = i
			break
		}
		if code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if spent < 20 {
		t.Errorf("the global budget ran out after %d failures; a few typos must not lock everyone out", spent)
	}
	s.wantGuess("203.0.113.99:999", password, nil, http.StatusTooManyRequests, "a new source with the right password while the global budget is spent")
	s.wantGuess(operator, password, nil, http.StatusSeeOther, "the operator's source, which logged in before")
	if code := s.from(operator, "GET", "/metrics", nil, map[string]string{"Authorization": "Bearer " + password}).StatusCode; code != http.StatusOK {
		t.Errorf("bearer from the operator's source: %d, want 200", code)
	}
	if resp, _ := s.do(c, "GET", "/tokens", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a session opened before the spray: %s, want 200", resp.Status)
	}
}

func proxies(cidrs ...string) func(*web.Options) {
	return func(o *web.Options) {
		for _, c := range cidrs {
			o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(c))
		}
	}
}

// TestLoginBehindTrustedProxy: behind a reverse proxy every client has the
// proxy's address; X-Forwarded-For from a trusted proxy tells them apart, so
// an attacker's failures do not lock out the operator or the scraper.
func TestLoginBehindTrustedProxy(t *testing.T) {
	s := newSiteWith(t, proxies("10.1.0.0/16", "127.0.0.0/8"))
	const proxy = "10.1.2.3:55000"
	attacker := map[string]string{"X-Forwarded-For": "198.51.100.7"}
	for i := range 5 {
		if code := s.guess(proxy, "guess", attacker); code != http.StatusUnauthorized {
			t.Fatalf("attacker guess %d: %d", i+1, code)
		}
	}
	if code := s.guess(proxy, "guess", attacker); code != http.StatusTooManyRequests {
		t.Fatalf("attacker's 6th guess: %d, want 429", code)
	}
	// The attacker cannot pose as someone else: only the rightmost address
	// not added by a trusted proxy counts; what the client wrote is ignored.
	spoofed := map[string]string{"X-Forwarded-For": "203.0.113.50, 198.51.100.7"}
	s.wantGuess(proxy, "guess", spoofed, http.StatusTooManyRequests, "attacker with a forged X-Forwarded-For entry")
	twoHops := map[string]string{"X-Forwarded-For": "203.0.113.50, 198.51.100.7, 10.1.9.9"}
	s.wantGuess("127.0.0.1:4000", password, twoHops, http.StatusTooManyRequests, "attacker through two trusted proxies, right password")

	operator := map[string]string{"X-Forwarded-For": "198.51.100.8"}
	s.wantGuess(proxy, password, operator, http.StatusSeeOther, "operator behind the same proxy")
	scraper := map[string]string{"X-Forwarded-For": "10.9.0.5", "Authorization": "Bearer " + password}
	if code := s.from(proxy, "GET", "/metrics", nil, scraper).StatusCode; code != http.StatusOK {
		t.Errorf("scraper behind the same proxy: %d, want 200", code)
	}
	// Over real HTTP the peer is 127.0.0.1, a trusted proxy here.
	resp, _ := s.do(s.client(), "POST", "/login", url.Values{"password": {password}}, map[string]string{"X-Forwarded-For": "198.51.100.9"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login through 127.0.0.1 for another client: %s, want 303", resp.Status)
	}
}

// TestForwardedForIgnoredFromUntrustedPeers: without serve.trusted_proxies
// (or from a peer outside them) X-Forwarded-For is the client's own claim
// and must not open a new budget.
func TestForwardedForIgnoredFromUntrustedPeers(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  func(*web.Options)
	}{{"no trusted proxies", nil}, {"peer not trusted", proxies("10.1.0.0/16")}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSiteWith(t, tc.opt)
			for i := range 5 {
				xff := map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i)}
				if code := s.guess("192.0.2.1:1000", "guess", xff); code != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d", i+1, code)
				}
			}
			s.wantGuess("192.0.2.1:1000", password, map[string]string{"X-Forwarded-For": "198.51.100.200"}, http.StatusTooManyRequests, "6th attempt with yet another X-Forwarded-For")
		})
	}
}

// countingReader serves n bytes: a multipart form whose password field never
// ends, and counts what was read from it.
type countingReader struct {
	head string
	n    int64
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	off := c.read.Load()
	if off >= c.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), c.n-off)]
	for i := range p {
		if j := off + int64(i); j < int64(len(c.head)) {
			p[i] = c.head[j]
		} else {
			p[i] = 'A'
		}
	}
	c.read.Add(int64(len(p)))
	return len(p), nil
}

// TestRequestBodyCapped: twelve 31 MB multipart logins used to be read into
// memory in full (600 MB resident). Bodies are capped before any parsing and
// before the rate limit: the request is refused with 413 after a few KiB.
func TestRequestBodyCapped(t *testing.T) {
	s := newSite(t, false)
	const size = 31 << 20
	const boundary = "xxBOUNDARYxx"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n"
	for _, tc := range []struct {
		name     string
		declared bool // Content-Length sent (else chunked)
		addr     string
	}{
		{"chunked", false, "192.0.2.20:1"},
		{"with Content-Length", true, "192.0.2.21:1"},
		{"from a rate-limited source", false, "192.0.2.22:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.name, "rate-limited") {
				for range 6 {
					s.guess(tc.addr, "guess", nil)
				}
			}
			body := &countingReader{head: head, n: size}
			req := httptest.NewRequest("POST", "/login", body)
			req.RemoteAddr = tc.addr
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
			if tc.declared {
				req.ContentLength = size
			}
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", rec.Code)
			}
			if n := body.read.Load(); n > 64<<10 {
				t.Errorf("the handler read %d bytes of a %d-byte body; it should stop after a few KiB", n, size)
			}
		})
	}

	// A logged-in form post is capped too, and rotates nothing.
	c := s.client()
	csrf := s.login(c)
	big := url.Values{"csrf": {csrf}, "pad": {strings.Repeat("x", 1<<20)}}
	if resp, _ := s.do(c, "POST", "/tokens/project_access_token/12/rotate", big, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB rotate form: %s, want 413", resp.Status)
	}
	if got := s.be.rotations(); len(got) != 0 {
		t.Errorf("an oversized form still rotated %v", got)
	}
	// A normal form still works.
	if resp, _ := s.do(c, "POST", "/tokens/project_access_token/12/rotate", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("normal rotate form: %s, want 303", resp.Status)
	}
}
