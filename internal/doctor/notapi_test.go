package doctor

import (
	"context"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// TestInstanceThatIsNotGitLab: a URL that answers with a web page or with
// broken JSON is not "✓ GitLab instance reachable": the instance check
// fails, says what came back, and points at the URL.
func TestInstanceThatIsNotGitLab(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		status            int
		got               string
	}{
		{"web page", "text/html; charset=utf-8", "<!DOCTYPE html><html><body>Welcome</body></html>", 200, "text/html"},
		{"login page with 401", "text/html", "<html>Sign in</html>", 401, "text/html"},
		{"broken json", "application/json", `{"version": "17.`, 200, "broken JSON"},
		{"json that is html", "application/json", `<html></html>`, 401, "broken JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			in := Input{Token: secret.New("glpat-AbcdefghijKLMNOPQRST"), Origin: Origin{Kind: "env", Name: "APP_TOKEN", Found: true}, URL: srv.URL}
			rep := Run(context.Background(), in, Config{Clock: clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))})
			r := find(t, rep, "instance")
			if r.Status != StatusFailed || rep.Healthy {
				t.Fatalf("instance check: %s %q, want failed", r.Status, r.Detail)
			}
			want := "not a GitLab API at " + srv.URL + " (got " + tc.got + ")"
			if !strings.Contains(r.Detail, want) || !strings.Contains(r.Fix, "root URL") {
				t.Errorf("instance check: detail %q fix %q; want %q and a fix about the URL", r.Detail, r.Fix, want)
			}
		})
	}
}

// TestInstanceThatNeverAnswers: a server that accepts and never answers
// fails the instance check after the configured timeout, saying so.
func TestInstanceThatNeverAnswers(t *testing.T) {
	b, err := simtest.NewBlackhole()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := b.URL
	in := Input{Token: secret.New("glpat-AbcdefghijKLMNOPQRST"), Origin: Origin{Kind: "env", Name: "APP_TOKEN", Found: true}, URL: url}
	rep := Run(context.Background(), in, Config{Clock: clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)), Timeout: 300 * time.Millisecond})
	r := find(t, rep, "instance")
	if r.Status != StatusFailed || !strings.Contains(r.Detail, "no answer within 300ms") || !strings.Contains(r.Fix, "--timeout") {
		t.Errorf("instance check: %s %q (fix %q); want a failure naming the 300ms timeout", r.Status, r.Detail, r.Fix)
	}
}

func find(t *testing.T, rep Report, name string) Result {
	t.Helper()
	for _, r := range rep.Checks {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no check %q in %+v", name, rep.Checks)
	return Result{}
}
