package sim

import (
	"bufio"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}

var fuzzTokens = []string{"", rootSecret, aliceSecret, aliceRead, bobSecret, expSecret, revSecret, botSecret, "glpat-unknown00000000000"}

// FuzzRequest: whatever arrives — any path, query, body and content type,
// from any token — the emulator answers like GitLab: never a panic, never a
// 500, and under /api/v4/ an answer in JSON (GitLab answers junk with 400
// or 404).
// The request goes through net/http's own parser first, as it would on the
// wire; what that parser refuses never reaches a handler.
func FuzzRequest(f *testing.F) {
	seeds := []struct {
		method      uint8
		token       uint8
		target      string
		ctype, body string
	}{
		{0, 1, "/api/v4/groups?per_page=abc&page=-1", "", ""},
		{0, 1, "/api/v4/groups/platform%2Finfra/descendant_groups?min_access_level=x", "", ""},
		{0, 2, "/api/v4/groups/1/access_tokens?state=weird&per_page=0", "", ""},
		{0, 2, "/api/v4/groups/999999999999999999999/access_tokens", "", ""},
		{1, 2, "/api/v4/groups/1/access_tokens", "application/json", `{"name":"x","scopes":["api"],"expires_at":"2027-13-45","access_level":99}`},
		{1, 2, "/api/v4/groups/1/access_tokens", "application/json", `{"name":{"a":[1,{"b":null}]},"scopes":"api,read_api","expires_at":null}`},
		{1, 2, "/api/v4/groups/1/access_tokens", "application/x-www-form-urlencoded", "name=x&scopes[]=api&scopes[]=&expires_at=2027-01-01"},
		{1, 2, "/api/v4/groups/1/access_tokens", "application/json", `[1,2,3]`},
		{1, 2, "/api/v4/groups/1/access_tokens", "application/json", `{"name":`},
		{1, 2, "/api/v4/groups/1/access_tokens/1/rotate", "application/json", `{"expires_at":"0001-01-01"}`},
		{1, 7, "/api/v4/groups/1/access_tokens/self/rotate", "", ""},
		{3, 2, "/api/v4/groups/1/access_tokens/-1", "", ""},
		{3, 2, "/api/v4/personal_access_tokens/18446744073709551616", "", ""},
		{0, 1, "/api/v4/personal_access_tokens?user_id=abc&revoked=maybe&created_after=yesterday", "", ""},
		{0, 1, "/api/v4/projects/platform%2Finfra%2Fapp/variables/KEY?filter[environment_scope]=*", "", ""},
		{1, 1, "/api/v4/projects/1/variables", "application/json", `{"key":"","value":"x","masked":"perhaps"}`},
		{2, 1, "/api/v4/projects/1/variables/NOPE", "application/json", `{"value":1e999}`},
		{1, 1, "/api/v4/admin/token", "application/json", `{"token":12}`},
		{0, 3, "/api/v4/users?username=%00", "", ""},
		{0, 0, "/api/v4/user", "", ""},
		{0, 5, "/api/v4/personal_access_tokens/self", "", ""},
		{4, 1, "/api/v4/version", "", ""},
		{0, 1, "/api/v4/../../etc/passwd", "", ""},
		{0, 1, "/api/v4/groups/1/members/all/x", "", ""},
		{5, 1, "/api/v4/groups", "", ""},
		{1, 1, "/api/v4/groups", "multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nG\r\n--zz--\r\n"},
		{1, 1, "/-/sim/faults", "application/json", `{"reset":{"path":"("}}`},
		{1, 1, "/-/sim/clock", "application/json", `{"advance":"-999999h"}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.token, s.target, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, method, tok uint8, target, ctype, body string) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		secret := fuzzTokens[int(tok)%len(fuzzTokens)]
		if strings.HasPrefix(target, "/-/sim/") && strings.Contains(body, "latency") {
			t.Skip("the emulator's own latency control sleeps on purpose")
		}
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: gitlab.example.com\r\nContent-Length: %d\r\n", m, target, len(body))
		if secret != "" {
			raw += "PRIVATE-TOKEN: " + secret + "\r\n"
		}
		if ctype != "" {
			raw += "Content-Type: " + ctype + "\r\n"
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n" + body)))
		if err != nil || req.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
			return // net/http refuses it before any handler (400)
		}
		s, err := New(Options{Clock: clock.NewFake(t0), RootToken: rootSecret})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.LoadFixture(strings.NewReader(conformanceFixture)); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s (%s %q): answered %d %s", m, target, ctype, body, res.StatusCode, rec.Body.String())
		}
		if res.StatusCode >= 300 && res.StatusCode < 400 || res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusNoContent {
			return
		}
		if !strings.HasPrefix(req.URL.Path, "/api/v4/") {
			return // not the API ("GET *" and the like): GitLab's web server answers those
		}
		if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
			t.Fatalf("%s %s: answered %d with Content-Type %q, not JSON: %q", m, target, res.StatusCode, res.Header.Get("Content-Type"), rec.Body.String())
		}
	})
}
