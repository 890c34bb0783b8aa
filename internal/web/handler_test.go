package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/web"
)

const password = "correct horse battery staple"

var now = simtest.Now

// backend is a fixed daemon state; it records "rotate now" requests.
type backend struct {
	mu      sync.Mutex
	standBy bool // another daemon leads
	ready   bool
	state   daemon.State
	rotated []string
}

func (b *backend) State() daemon.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
func (b *backend) Leading() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.standBy
}
func (b *backend) Ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ready
}
func (b *backend) RotateNow(_ context.Context, ref string) (engine.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rotated = append(b.rotated, ref)
	return engine.Outcome{Status: engine.StatusDone, Rotation: &journal.Rotation{ID: "rot-1", Ref: ref, NewTokenID: 99}}, nil
}
func (b *backend) rotations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.rotated...)
}

func at(d int) *time.Time { t := now.Truncate(24*time.Hour).AddDate(0, 0, d); return &t }

func fixedState() daemon.State {
	exp := gitlab.Token{ID: 11, Name: "old-ci", Resource: gitlab.Resource{Type: "project", Path: "acme/legacy"}, ExpiresAt: at(-3), CreatedAt: now.AddDate(0, -6, 0)}
	man := gitlab.Token{ID: 12, Name: "deploy", Resource: gitlab.Resource{Type: "project", Path: "acme/app"}, ExpiresAt: at(20), CreatedAt: now.AddDate(0, 0, -10), Active: true, Scopes: []string{"read_api"}}
	oth := gitlab.Token{ID: 13, Name: "reporting", Resource: gitlab.Resource{Type: "group", Path: "beta"}, ExpiresAt: at(5), CreatedAt: now.AddDate(0, 0, -80), Active: true}
	renew := now.AddDate(0, 0, 10)
	return daemon.State{
		Scanned: true, ScannedAt: now,
		Tokens: []daemon.Token{
			{Row: policy.Row{Token: exp, State: gitlab.StateExpired, Findings: []policy.Finding{{Code: "expired", Severity: "critical", Message: "expired", Fix: "revoke"}}, Worst: "critical"},
				Lives: []string{"project acme/legacy variable LEGACY_CI_TOKEN (scope production)"}},
			{Row: policy.Row{Token: man, State: gitlab.StateActive}, Ref: "project/acme/app:deploy", NextRotation: &renew},
			{Row: policy.Row{Token: oth, State: gitlab.StateActive, Findings: []policy.Finding{{Code: "expires-soon", Severity: "critical"}, {Code: "unmanaged", Severity: "info"}}, Worst: "critical"}},
		},
		Managed: []daemon.Managed{{Ref: "project/acme/app:deploy", Strategy: "overlap", Action: engine.ActionNone, Current: &man, RenewAt: &renew, Deliver: []string{"file /etc/app.env"}}},
	}
}

type site struct {
	t   *testing.T
	srv *httptest.Server
	h   http.Handler
	be  *backend
}

func newSite(t *testing.T, readOnly bool) *site {
	t.Helper()
	return newSiteWith(t, func(o *web.Options) { o.ReadOnly = readOnly })
}

// openJournal opens a fresh journal in a temporary directory, closed when
// the test ends.
func openJournal(tb testing.TB) journal.Store {
	tb.Helper()
	dir := tb.TempDir()
	sealer, err := secret.LoadOrCreateKey(filepath.Join(dir, "k"))
	if err != nil {
		tb.Fatal(err)
	}
	st, err := journal.Open(context.Background(), "sqlite://"+filepath.Join(dir, "j.db"), sealer, clock.NewFake(now))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// newSiteWith is newSite with options changed by opt.
func newSiteWith(t *testing.T, opt func(*web.Options)) *site {
	t.Helper()
	st := openJournal(t)
	be := &backend{ready: true, state: fixedState()}
	o := web.Options{
		Backend: be, Store: st, Password: secret.New(password), Clock: clock.NewFake(now),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "tokenwarden_build_info 1\n") }),
	}
	if opt != nil {
		opt(&o)
	}
	h, err := web.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{t: t, srv: srv, h: h, be: be}
}

// client returns an HTTP client with a cookie jar that does not follow redirects.
func (s *site) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *site) do(c *http.Client, method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login logs c in and returns the CSRF token of its session.
func (s *site) login(c *http.Client) string {
	s.t.Helper()
	resp, _ := s.do(c, "POST", "/login", url.Values{"password": {password}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("login: %s", resp.Status)
	}
	_, page := s.do(c, "GET", "/tokens/project_access_token/12", nil, nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		s.t.Fatal("no CSRF token on the token page")
	}
	return m[1]
}

func TestHealthAndReadiness(t *testing.T) {
	s := newSite(t, false)
	c := s.client()
	if resp, _ := s.do(c, "GET", "/healthz", nil, nil); resp.StatusCode != 200 {
		t.Errorf("/healthz: %s", resp.Status)
	}
	s.be.mu.Lock()
	s.be.ready = false
	s.be.mu.Unlock()
	if resp, body := s.do(c, "GET", "/readyz", nil, nil); resp.StatusCode != 503 || !strings.Contains(body, "scan") {
		t.Errorf("/readyz before the first scan: %s %q, want 503 naming the scan", resp.Status, body)
	}
	s.be.mu.Lock()
	s.be.ready = true
	s.be.mu.Unlock()
	if resp, _ := s.do(c, "GET", "/readyz", nil, nil); resp.StatusCode != 200 {
		t.Errorf("/readyz when ready: %s", resp.Status)
	}
}

func TestLogin(t *testing.T) {
	s := newSite(t, false)
	tests := []struct {
		name       string
		method     string
		path       string
		form       url.Values
		hdr        map[string]string
		wantCode   int
		wantCookie bool
		wantSecure bool
	}{
		{"dashboard needs a login", "GET", "/", nil, nil, http.StatusSeeOther, false, false},
		{"metrics need a login", "GET", "/metrics", nil, nil, http.StatusUnauthorized, false, false},
		{"wrong password", "POST", "/login", url.Values{"password": {"nope"}}, nil, http.StatusUnauthorized, false, false},
		{"empty password", "POST", "/login", url.Values{}, nil, http.StatusUnauthorized, false, false},
		{"right password", "POST", "/login", url.Values{"password": {password}}, nil, http.StatusSeeOther, true, false},
		{"behind a TLS proxy", "POST", "/login", url.Values{"password": {password}}, map[string]string{"X-Forwarded-Proto": "https"}, http.StatusSeeOther, true, true},
		{"cross-site login form", "POST", "/login", url.Values{"password": {password}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, false, false},
		{"bearer", "GET", "/", nil, map[string]string{"Authorization": "Bearer " + password}, http.StatusOK, false, false},
		{"bearer for metrics", "GET", "/metrics", nil, map[string]string{"Authorization": "Bearer " + password}, http.StatusOK, false, false},
		{"wrong bearer", "GET", "/", nil, map[string]string{"Authorization": "Bearer " + password + "x"}, http.StatusUnauthorized, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := s.do(s.client(), tc.method, tc.path, tc.form, tc.hdr)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("%s %s: %s, want %d", tc.method, tc.path, resp.Status, tc.wantCode)
			}
			var ck *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "tokenwarden_session" {
					ck = c
				}
			}
			if (ck != nil) != tc.wantCookie {
				t.Fatalf("session cookie set: %v, want %v", ck != nil, tc.wantCookie)
			}
			if ck != nil {
				if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != tc.wantSecure || len(ck.Value) < 40 {
					t.Errorf("cookie HttpOnly=%v SameSite=%v Secure=%v len=%d, want HttpOnly, Strict, Secure=%v, a long random id",
						ck.HttpOnly, ck.SameSite, ck.Secure, len(ck.Value), tc.wantSecure)
				}
			}
		})
	}
}

func TestLoginRateLimited(t *testing.T) {
	s := newSite(t, false)
	c := s.client()
	for i := 0; i < 5; i++ {
		if resp, _ := s.do(c, "POST", "/login", url.Values{"password": {"guess"}}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %s", i+1, resp.Status)
		}
	}
	// Even the right password is refused until the client has waited.
	if resp, _ := s.do(c, "POST", "/login", url.Values{"password": {password}}, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("6th attempt: %s, want 429", resp.Status)
	}
}

func TestCSRFAndReadOnly(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		s := newSite(t, readOnly)
		c := s.client()
		csrf := "x"
		if readOnly {
			// The button is not shown; take the token from the logout form.
			s.do(c, "POST", "/login", url.Values{"password": {password}}, nil)
			_, page := s.do(c, "GET", "/tokens/project_access_token/12", nil, nil)
			if strings.Contains(page, "rotate-now") {
				t.Error("read-only: the token page shows a rotate button")
			}
			csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
		} else {
			csrf = s.login(c)
		}
		tests := []struct {
			name string
			form url.Values
			hdr  map[string]string
			want int
		}{
			{"no CSRF token", url.Values{}, nil, http.StatusForbidden},
			{"wrong CSRF token", url.Values{"csrf": {csrf + "x"}}, nil, http.StatusForbidden},
			{"cross-origin", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
			{"right CSRF token", url.Values{"csrf": {csrf}}, nil, http.StatusSeeOther},
		}
		for _, tc := range tests {
			want := tc.want
			if readOnly && want == http.StatusSeeOther {
				want = http.StatusForbidden
			}
			resp, _ := s.do(c, "POST", "/tokens/project_access_token/12/rotate", tc.form, tc.hdr)
			if resp.StatusCode != want {
				t.Errorf("read-only=%v %s: %s, want %d", readOnly, tc.name, resp.Status, want)
			}
		}
		wantRotations := 1
		if readOnly {
			wantRotations = 0
		}
		if got := s.be.rotations(); len(got) != wantRotations {
			t.Errorf("read-only=%v: %d rotations requested (%v), want %d", readOnly, len(got), got, wantRotations)
		}
		// A token from another session does not work.
		other := s.client()
		s.do(other, "POST", "/login", url.Values{"password": {password}}, nil)
		if resp, _ := s.do(other, "POST", "/tokens/project_access_token/12/rotate", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("read-only=%v: another session's CSRF token accepted: %s", readOnly, resp.Status)
		}
	}
}

func TestLogout(t *testing.T) {
	s := newSite(t, false)
	c := s.client()
	csrf := s.login(c)
	if resp, _ := s.do(c, "POST", "/logout", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", resp.Status)
	}
	if resp, _ := s.do(c, "GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout /: %s, want a redirect to the login", resp.Status)
	}
}

func TestPages(t *testing.T) {
	s := newSite(t, false)
	c := s.client()
	s.login(c)
	tests := []struct {
		path    string
		want    []string
		notWant []string
	}{
		{"/", []string{`<svg`, `<title id="tl-title">`, "today", "2 active token(s) expire in the next 90 days; 1 rotation(s)", `scope="col"`}, nil},
		{"/tokens?finding=expired", []string{"old-ci", "Showing 1 of 3"}, []string{">deploy<", ">reporting<"}},
		{"/tokens?state=managed", []string{">deploy<"}, []string{">old-ci<", ">reporting<"}},
		{"/tokens?group=beta", []string{">reporting<"}, []string{">deploy<"}},
		{"/tokens/project_access_token/12", []string{"Rotate now", "file /etc/app.env", "No rotation recorded yet"}, nil},
		{"/tokens/group_access_token/13", []string{"unmanaged"}, []string{"Rotate now", "Where it lives"}},
		{"/tokens/project_access_token/11", []string{"Where it lives", "project acme/legacy variable LEGACY_CI_TOKEN (scope production)"}, nil},
		{"/journal", []string{"The journal is empty"}, nil},
	}
	for _, tc := range tests {
		resp, body := s.do(c, "GET", tc.path, nil, nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", tc.path, resp.Status)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: missing %q", tc.path, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: unexpected %q", tc.path, w)
			}
		}
	}
	// Sorting: by expiry ascending puts the expired token first, descending last.
	_, asc := s.do(c, "GET", "/tokens?sort=expires&order=asc", nil, nil)
	_, desc := s.do(c, "GET", "/tokens?sort=expires&order=desc", nil, nil)
	if !(strings.Index(asc, "old-ci") < strings.Index(asc, ">deploy<")) || !(strings.Index(desc, "old-ci") > strings.Index(desc, ">deploy<")) {
		t.Error("sorting by expiry does not order the rows")
	}
	if resp, _ := s.do(c, "GET", "/tokens/404", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown token: %s", resp.Status)
	}
}

// TestLoginRedirectStaysOnSite: next= after login never leads to another
// site, however it is spelled. Browsers drop tabs and newlines inside a URL
// and read a backslash as a slash, so "/\t/evil.example" and "/./\evil"
// (which net/http cleans to "/\evil") would both go to evil.example.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	s := newSite(t, false)
	tests := []struct{ next, want string }{
		{"/tokens?state=expired", "/tokens?state=expired"},
		{"/tokens/project_access_token/12", "/tokens/project_access_token/12"},
		{"https://evil.example/", "/"},
		{"//evil.example/", "/"},
		{"/\\evil.example/", "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"/\r/evil.example/", "/"},
		{"/./\\evil.example/", "/"},
		{"/.%2F/evil.example", "/.%2F/evil.example"}, // encoded: a path on this site
		{"javascript:alert(1)", "/"},
	}
	for _, tc := range tests {
		// The form carries next= from the login page's query to the POST.
		_, form := s.do(s.client(), "GET", "/login?next="+url.QueryEscape(tc.next), nil, nil)
		m := regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(form)
		if m == nil {
			t.Fatalf("next=%q: the login form has no next field", tc.next)
		}
		// A bare round trip: a client would refuse to parse some of these Locations.
		req, _ := http.NewRequest("POST", s.srv.URL+"/login", strings.NewReader(url.Values{"password": {password}, "next": {tc.next}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("next=%q: login %s", tc.next, resp.Status)
		}
		loc := resp.Header.Get("Location")
		if loc != tc.want {
			t.Errorf("next=%q: redirected to %q, want %q", tc.next, loc, tc.want)
		}
		// Resolve it as a browser would: tabs and newlines removed, "\" read as "/".
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
		if u, err := url.Parse(s.srv.URL + "/"); err == nil {
			if r, err := u.Parse(browser); err != nil || r.Host != u.Host {
				t.Errorf("next=%q: Location %q leads a browser off the site (%v)", tc.next, loc, r)
			}
		}
	}
}

// TestHostileNamesRenderInert: token names, descriptions, group paths and
// finding texts come from GitLab (anyone with Maintainer can name a token);
// markup or a javascript: URL in them must show as text on every page.
func TestHostileNamesRenderInert(t *testing.T) {
	s := newSite(t, false)
	const (
		name = `<script>alert("name")</script>`
		desc = `javascript:alert('desc')`
		path = `acme/"><svg onload=alert(1)>`
		msg  = `</title><script>alert("finding")</script>`
	)
	st := fixedState()
	evil := gitlab.Token{ID: 66, Name: name, Description: desc, Resource: gitlab.Resource{Type: "project", Path: path + "/app"},
		ExpiresAt: at(3), CreatedAt: now.AddDate(0, 0, -30), Active: true, Scopes: []string{"api"}}
	st.Tokens = append(st.Tokens, daemon.Token{Row: policy.Row{Token: evil, State: gitlab.StateActive, Worst: "critical",
		Findings: []policy.Finding{{Code: "expires-soon", Severity: "critical", Message: msg, Fix: desc}}}})
	s.be.mu.Lock()
	s.be.state = st
	s.be.mu.Unlock()

	c := s.client()
	s.login(c)
	for _, p := range []string{"/", "/tokens", "/tokens?group=" + url.QueryEscape(path), "/tokens/project_access_token/66"} {
		resp, body := s.do(c, "GET", p, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", p, resp.Status)
		}
		if !strings.Contains(body, "&lt;script&gt;alert") {
			t.Errorf("GET %s: the hostile token is not on the page, escaped", p) // else this test proves nothing
		}
		for _, bad := range []string{"<script>alert", "<svg onload", `"><svg`, `href="javascript:`} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: the page contains %q unescaped", p, bad)
			}
		}
		if p == "/tokens/project_access_token/66" && !strings.Contains(body, "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;") {
			t.Errorf("GET %s: the token's name is not shown as text", p)
		}
	}
}

// TestFirstScanStillRunning: before the daemon's first scan the pages say
// so, instead of an empty table that reads as "no tokens".
func TestFirstScanStillRunning(t *testing.T) {
	s := newSite(t, false)
	s.be.mu.Lock()
	s.be.ready, s.be.state = false, daemon.State{}
	s.be.mu.Unlock()
	c := s.client()
	s.do(c, "POST", "/login", url.Values{"password": {password}}, nil)
	for _, p := range []string{"/", "/tokens", "/tokens?state=managed"} {
		resp, body := s.do(c, "GET", p, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", p, resp.Status)
		}
		if !strings.Contains(body, "The first scan is still running") {
			t.Errorf("GET %s before the first scan does not say the scan is running", p)
		}
		if strings.Contains(body, "Showing 0 of 0") || strings.Contains(body, "No token matches") {
			t.Errorf("GET %s before the first scan reads as an empty inventory", p)
		}
	}
}
