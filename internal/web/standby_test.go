package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
