package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const (
	rootSecret   = "glpat-root0000000000000000"
	aliceSecret  = "glpat-alice000000000000000"
	aliceRead    = "glpat-aliceread0000000000"
	aliceRepo    = "glpat-alicerepo0000000000"
	bobSecret    = "glpat-bob00000000000000000"
	carolSecret  = "glpat-carol000000000000000"
	daveSecret   = "glpat-dave0000000000000000"
	expSecret    = "glpat-expired00000000000000"
	revSecret    = "glpat-revoked00000000000000"
	bothSecret   = "glpat-both0000000000000000"
	botSecret    = "glpat-platformbot00000000"
	appBotSecret = "glpat-appbot0000000000000"
)

// conformanceFixture: platform (id 1) ⊃ infra (id 2) ⊃ project app (id 1).
// Users: root 1, alice 2 (platform owner), bob 3 (platform developer),
// carol 4 (app maintainer), dave 5 (no membership).
const conformanceFixture = `
now: 2026-11-25T12:00:00Z
users:
  - username: alice
    tokens:
      - {name: laptop, scopes: [api], secret: ` + aliceSecret + `}
      - {name: read, scopes: [read_api], secret: ` + aliceRead + `}
      - {name: repo, scopes: [read_repository], secret: ` + aliceRepo + `}
      - {name: old, scopes: [api], expires_at: 2026-11-25, secret: ` + expSecret + `}
      - {name: gone, scopes: [api], revoked: true, secret: ` + revSecret + `}
      - {name: both, scopes: [api], expires_at: 2026-11-20, revoked: true, secret: ` + bothSecret + `}
  - username: bob
    tokens: [{name: b, scopes: [api], secret: ` + bobSecret + `}]
  - username: carol
    tokens: [{name: c, scopes: [api], secret: ` + carolSecret + `}]
  - username: dave
    tokens: [{name: d, scopes: [api], secret: ` + daveSecret + `}]
groups:
  - path: platform
    name: Platform
    members: [{user: alice, access_level: 50}, {user: bob, access_level: 30}]
    tokens:
      - {name: platform-bot, description: "deploys", scopes: [api], access_level: 40, created_at: 2026-01-01, expires_at: 2026-12-31, secret: ` + botSecret + `}
    subgroups:
      - path: infra
        projects:
          - path: app
            members: [{user: carol, access_level: 40}]
            tokens:
              - {name: app-bot, scopes: [api], access_level: 40, expires_at: 2026-12-31, secret: ` + appBotSecret + `}
`

func newConformance(t *testing.T, opts Options) (*Server, string, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(t0)
	opts.Clock, opts.RootToken = fake, rootSecret
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	base := ts.URL
	if err := s.LoadFixture(strings.NewReader(conformanceFixture)); err != nil {
		t.Fatal(err)
	}
	return s, base, fake
}

// platformToken makes an access token of group platform (id 1) through the
// fixture API and returns it with its secret; an error fails the test.
func platformToken(t *testing.T, s *Server, spec TokenSpec) (Token, string) {
	t.Helper()
	tok, secret, err := s.CreateAccessToken("group", 1, spec)
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, token, body string) response {
	t.Helper()
	return doWith(t, method, url, token, body, "", nil)
}

// doWith is do with HTTP Basic credentials ("username:password") and more
// request headers.
func doWith(t *testing.T, method, url, token, body, basic string, hdr map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if strings.HasPrefix(token, "Bearer ") {
		req.Header.Set("Authorization", token)
	} else if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	if user, pw, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(user, pw)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}
