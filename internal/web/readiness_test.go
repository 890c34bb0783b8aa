package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
)

// A daemon standing by (another one on the shared state leads) is alive
// but not ready: /healthz answers 200, everything else 503, so that a load
// balancer sends operators to the leader; nothing can be rotated. Once it
// leads, the same server is the dashboard.
func TestStandingBy(t *testing.T) {
	s := newSite(t, false)
	s.be.mu.Lock()
	s.be.standBy = true
	s.be.mu.Unlock()
	c := s.client()
	if resp, body := s.do(c, "GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz standing by: %d %q, want 200", resp.StatusCode, body)
	}
	bearer := map[string]string{"Authorization": "Bearer " + password}
	for _, r := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/readyz", nil}, {"GET", "/", nil}, {"GET", "/login", nil}, {"GET", "/metrics", nil},
		{"POST", "/login", url.Values{"password": {password}}},
		{"POST", "/tokens/project_access_token/12/rotate", url.Values{}},
	} {
		resp, body := s.do(c, r.method, r.path, r.form, bearer)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "standing by: another tokenwarden serve is the leader") {
			t.Errorf("%s %s standing by: %d %q, want 503 standing by", r.method, r.path, resp.StatusCode, body)
		}
	}
	if got := s.be.rotations(); len(got) != 0 {
		t.Errorf("rotated while standing by: %v", got)
	}

	s.be.mu.Lock()
	s.be.standBy = false
	s.be.mu.Unlock()
	if resp, body := s.do(c, "GET", "/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz once leading: %d %q, want 200", resp.StatusCode, body)
	}
}

// The token tokenwarden runs with: a banner on every page while it expires
// soon or is dead, and /readyz 503 once it is dead.
func TestManagingTokenBannerAndReadiness(t *testing.T) {
	s := newSite(t, false)
	c := s.client()
	s.login(c)
	set := func(st *managing.Status) {
		s.be.mu.Lock()
		s.be.state.Managing = st
		s.be.mu.Unlock()
	}
	tok := gitlab.Token{ID: 7, Name: "tokenwarden", ExpiresAt: at(5), Scopes: []string{"api"}}
	set(&managing.Status{Token: tok, Level: managing.LevelOK, Now: now, Source: "gitlab.token_file /etc/tw/token"})
	for _, p := range []string{"/", "/tokens"} {
		if _, body := s.do(c, "GET", p, nil, nil); strings.Contains(body, `class="error banner"`) {
			t.Errorf("GET %s: banner while the managing token is fine", p)
		}
	}

	set(&managing.Status{Token: tok, Level: managing.LevelCritical, Now: now, Source: "gitlab.token_file /etc/tw/token"})
	for _, p := range []string{"/", "/tokens", "/journal"} {
		_, body := s.do(c, "GET", p, nil, nil)
		if !strings.Contains(body, `class="error banner" role="alert">CRITICAL: the managing token &#34;tokenwarden&#34; (id 7, gitlab.token_file /etc/tw/token) expires on 2026-11-30 (in 5 days)`) {
			t.Errorf("GET %s: no banner naming the managing token and its expiry date", p)
		}
	}
	if resp, _ := s.do(c, "GET", "/readyz", nil, nil); resp.StatusCode != 200 {
		t.Errorf("/readyz while the managing token expires soon but works: %s, want 200", resp.Status)
	}

	set(&managing.Status{Token: tok, Level: managing.LevelExpired, Rejected: "Token was revoked. You have to re-authorize from the user", Now: now, Source: "gitlab.token_file /etc/tw/token"})
	resp, body := s.do(c, "GET", "/readyz", nil, nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "managing token") || !strings.Contains(body, "/etc/tw/token") {
		t.Errorf("/readyz with a revoked managing token: %s %q, want 503 naming it and the fix", resp.Status, body)
	}
	if _, body := s.do(c, "GET", "/", nil, nil); !strings.Contains(body, "EXPIRED: the managing token") {
		t.Errorf("no banner for a revoked managing token")
	}
	// Not logged in: nothing about it on the login page.
	if _, body := s.do(s.client(), "GET", "/login", nil, nil); strings.Contains(body, "managing token") {
		t.Errorf("the login page tells anonymous visitors about the managing token")
	}
}
