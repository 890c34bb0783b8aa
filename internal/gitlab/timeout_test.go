package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

func timeoutClient(t *testing.T, url string, timeout time.Duration) *gitlab.Client {
	t.Helper()
	// RetryMax 5 (the default): a timeout must not be retried anyway.
	c, err := gitlab.New(gitlab.Config{URL: url, Token: secret.New(rootToken), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantHint fails the test unless err carries a hint (HintText) that
// contains part, the hint about what.
func wantHint(t *testing.T, err error, part, what string) {
	t.Helper()
	var h interface{ HintText() string }
	if !errors.As(err, &h) || !strings.Contains(h.HintText(), part) {
		t.Errorf("error %q has no hint about %s", err, what)
	}
}

// TestHungServerTimesOut: a server that accepts the connection and never
// answers fails a read after the timeout, once (no retries that multiply
// the wait), with an error naming the instance and the timeout; and a
// create is sent once and reported as a timeout (an unknown outcome the
// engine recovers through its journal), never repeated.
func TestHungServerTimesOut(t *testing.T) {
	hole, err := simtest.NewBlackhole() // accepts connections, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hole.Close)
	url := hole.URL
	c := timeoutClient(t, url, 300*time.Millisecond)
	ctx := context.Background()

	_, err = c.CurrentUser(ctx)
	if !errors.Is(err, gitlab.ErrTimeout) || !errors.Is(err, gitlab.ErrUnreachable) {
		t.Fatalf("CurrentUser against a hung server: got %v, want a timeout", err)
	}
	if msg := err.Error(); !strings.Contains(msg, url) || !strings.Contains(msg, "300ms") {
		t.Errorf("error %q does not name the URL %s and the timeout 300ms", msg, url)
	}
	wantHint(t, err, "gitlab.timeout", "the timeout")
	if n := hole.Accepted(); n != 1 {
		t.Errorf("a hung read was sent %d times, want 1", n)
	}

	_, _, err = c.CreateAccessToken(ctx, gitlab.Resource{Type: "group", ID: 2, Path: "g"}, gitlab.MintSpec{
		Name: "x", Scopes: []string{"api"}, AccessLevel: 30, ExpiresAt: time.Now().AddDate(0, 1, 0)})
	var te *gitlab.TimeoutError
	if !errors.As(err, &te) || te.After != 300*time.Millisecond {
		t.Fatalf("create against a hung server: got %v, want a *TimeoutError", err)
	}
	if n := hole.Accepted() - 1; n != 1 {
		t.Errorf("a hung create was sent %d times, want exactly 1", n)
	}

	// The caller's own cancellation stays a cancellation.
	cctx, cancel := context.WithCancel(ctx)
	c2 := timeoutClient(t, url, time.Hour)
	done := make(chan error, 1)
	go func() { _, err := c2.CurrentUser(cctx); done <- err }()
	for deadline := time.Now().Add(time.Minute); hole.Accepted() < 3; {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled read never reached the server")
		}
		time.Sleep(time.Millisecond) // polling for a condition, not a fixed wait
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, gitlab.ErrTimeout) {
		t.Errorf("cancelled read: got %v, want context.Canceled", err)
	}
}

// TestStalledBodyTimesOut: headers arrive, then the body stalls; the
// deadline covers the body too.
func TestStalledBodyTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id": 1, "username": "ro`))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := timeoutClient(t, srv.URL, 300*time.Millisecond)
	if _, err := c.CurrentUser(context.Background()); !errors.Is(err, gitlab.ErrTimeout) {
		t.Fatalf("CurrentUser with a stalled body: got %v, want a timeout", err)
	}
}

// TestNotAGitLabAPI: a URL that answers with a web page, or with a success
// that is not JSON, is named as not being GitLab's API, with a hint, for
// reads and writes alike, instead of "invalid character '<'".
func TestNotAGitLabAPI(t *testing.T) {
	cases := append(simtest.NotGitLabAnswers,
		simtest.NotGitLab{Name: "html 404", ContentType: "text/html", Body: "<html>Not here</html>", Status: 404, Got: "text/html"},
		simtest.NotGitLab{Name: "empty", ContentType: "application/json", Status: 200, Got: "an empty answer"})
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var hits atomic.Int64
			srv := tc.Serve(t, &hits)
			c := timeoutClient(t, srv.URL, 10*time.Second)
			ctx := context.Background()

			_, err := c.CurrentUser(ctx)
			want := "not a GitLab API at " + srv.URL + " (got " + tc.Got + ")"
			if !errors.Is(err, gitlab.ErrNotAPI) || err.Error() != want {
				t.Fatalf("CurrentUser: got %v, want %q", err, want)
			}
			wantHint(t, err, "without /api/v4", "the URL")
			if n := hits.Load(); n != 1 {
				t.Errorf("sent %d times, want 1", n)
			}
			_, err = c.TokensNamed(ctx, gitlab.Resource{Type: "group", ID: 2, Path: "g"}, "x")
			var na *gitlab.NotAPIError
			if !errors.As(err, &na) || !strings.Contains(err.Error(), want) {
				t.Errorf("TokensNamed: got %v, want %q", err, want)
			}
			_, err = c.RevokeToken(ctx, gitlab.Resource{Type: "group", ID: 2, Path: "g"}, 7)
			if !errors.As(err, &na) {
				t.Errorf("RevokeToken: got %v, want %q (a web page's 404 is not \"already revoked\")", err, want)
			}
		})
	}
}

// TestNonJSONEndpointsStillWork: some GitLab API endpoints answer with other
// content than JSON (a raw repository file is text/plain, an archive is
// application/octet-stream). A verify probe of one of them must pass: only
// an HTML page, or a JSON answer that does not parse, is "not GitLab".
func TestNonJSONEndpointsStillWork(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/raw"):
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("<p>a README that starts like HTML</p>\n"))
		case strings.HasSuffix(r.URL.Path, "/archive"):
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte{0x1f, 0x8b, 0, 1, 2})
		default:
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html></html>"))
		}
	}))
	defer srv.Close()
	c := timeoutClient(t, srv.URL, 10*time.Second)
	ctx := context.Background()
	for _, p := range []string{"/projects/1/repository/files/README.md/raw", "/projects/1/repository/archive"} {
		if err := c.Probe(ctx, http.MethodGet, p); err != nil {
			t.Errorf("Probe %s: %v", p, err)
		}
	}
	if err := c.Probe(ctx, http.MethodGet, "/projects/1"); !errors.As(err, new(*gitlab.NotAPIError)) {
		t.Errorf("Probe of an HTML answer: got %v, want a *NotAPIError", err)
	}
}
