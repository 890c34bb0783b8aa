package simtest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// NotGitLab is what a URL that is not GitLab's API answers (a web page,
// broken JSON, nothing), and Got, how tokenwarden names what came back in
// "not a GitLab API at URL (got Got)".
type NotGitLab struct {
	Name, ContentType, Body string // ContentType "": no Content-Type header
	Status                  int
	Got                     string
}

// NotGitLabAnswers are answers both the GitLab client and doctor must tell
// from GitLab's API, and name alike.
var NotGitLabAnswers = []NotGitLab{
	{"html page", "text/html; charset=utf-8", "<!DOCTYPE html><html><body>Welcome</body></html>", 200, "text/html"},
	{"html login page with 401", "text/html", "<html>Sign in</html>", 401, "text/html"},
	{"broken json", "application/json", `{"id": 1, "username": `, 200, "broken JSON"},
	{"html sent as json", "application/json", "<html></html>", 200, "broken JSON"},
	{"no content type", "", "<html></html>", 200, "broken JSON"},
	{"empty answer", "application/json", "", 200, "an empty answer"},
}

// Serve starts a server that gives every request this answer, closed when
// the test ends; hits, when set, counts the requests.
func (a NotGitLab) Serve(t testing.TB, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		w.Header()["Content-Type"] = nil
		if a.ContentType != "" {
			w.Header().Set("Content-Type", a.ContentType)
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write([]byte(a.Body))
	}))
	t.Cleanup(srv.Close)
	return srv
}
