package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
)

// DefaultTimeout bounds each request to GitLab when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// maxAnswer bounds a successful answer the guard buffers to check it is
// JSON. GitLab's largest (a page of 100 tokens or groups) is well under 1 MiB.
const maxAnswer = 32 << 20

// TimeoutError is a request GitLab did not answer within the client's
// timeout. For a create or rotate it is an unknown outcome: GitLab may have
// done it. It is never retried by the client.
type TimeoutError struct {
	URL   string        // the instance
	After time.Duration // the timeout that ran out
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("GitLab at %s did not answer within %s", e.URL, e.After)
}

// HintText says what to check.
func (e *TimeoutError) HintText() string {
	return fmt.Sprintf("check that %s is the GitLab instance and that it is reachable from here (firewall, proxy settings HTTPS_PROXY/NO_PROXY, VPN); if it is merely slow, raise the timeout (gitlab.timeout in the config, --timeout on the command line)", e.URL)
}

// Timeout and Temporary make it a net.Error, like the transport's own.
func (e *TimeoutError) Timeout() bool   { return true }
func (e *TimeoutError) Temporary() bool { return true }

// NotAPIError is an answer that cannot come from GitLab's API: an HTML page
// (a login page, a proxy, a web site), or a success whose body is not JSON.
// The URL is most likely wrong.
type NotAPIError struct {
	URL string // the instance
	Got string // "text/html", "broken JSON", …
}

func (e *NotAPIError) Error() string {
	return fmt.Sprintf("not a GitLab API at %s (got %s)", e.URL, e.Got)
}

// HintText says what to check.
func (e *NotAPIError) HintText() string {
	return "check the GitLab URL (gitlab.url, --url or GITLAB_URL): it must be the instance's root, the address of its web interface such as https://gitlab.example.com, without /api/v4 or a path to a project"
}

// guard is the innermost transport: it gives every request the client's
// deadline (for the answer's headers and its body), and refuses answers
// that are not GitLab API answers before client-go tries to decode them.
type guard struct {
	next    http.RoundTripper
	timeout time.Duration
	base    string
}

func newGuard(next http.RoundTripper, timeout time.Duration, base string) *guard {
	if next == nil {
		next = http.DefaultTransport
	}
	if t, ok := next.(*http.Transport); ok {
		t = t.Clone()
		t.ResponseHeaderTimeout = timeout
		next = t
	}
	return &guard{next: next, timeout: timeout, base: base}
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, g.timeout)
	resp, err := g.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, g.timedOut(parent, ctx, err)
	}
	kind, got := answerKind(req, resp)
	if kind == answerHTML {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		return nil, &NotAPIError{URL: g.base, Got: got}
	}
	if kind == answerOther || resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel, g: g, parent: parent, ctx: ctx}
		return resp, nil
	}
	// A success is read here, under the deadline, and checked: GitLab's
	// answers are JSON, and one that is not must not reach the decoder
	// ("invalid character '<'") or, worse, be taken for an empty list.
	defer cancel()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	resp.Body.Close()
	if err != nil {
		return nil, g.timedOut(parent, ctx, err)
	}
	switch {
	case len(body) > maxAnswer:
		return nil, &NotAPIError{URL: g.base, Got: fmt.Sprintf("an answer over %d MiB", maxAnswer>>20)}
	case len(body) == 0 && resp.StatusCode == http.StatusOK:
		return nil, &NotAPIError{URL: g.base, Got: "an empty answer"}
	case len(body) > 0 && !json.Valid(body):
		return nil, &NotAPIError{URL: g.base, Got: "broken JSON"}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// timedOut turns the expiry of the request's own deadline into a
// TimeoutError; the caller's cancellation stays what it is.
func (g *guard) timedOut(parent, ctx context.Context, err error) error {
	if parent.Err() != nil {
		return err
	}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &TimeoutError{URL: g.base, After: g.timeout}
	}
	return err
}

type answer int

const (
	answerJSON  answer = iota // JSON, or no content type: a success must parse
	answerHTML                // a web page: never an answer of GitLab's API
	answerOther               // raw files, archives, …: passed on as they are
)

// answerKind sorts an answer by its content type. A server error or a
// throttle is left to the status (a proxy's error page there says more as
// "502 Bad Gateway" than as "not GitLab"), and so is an answer without a
// body.
func answerKind(req *http.Request, resp *http.Response) (answer, string) {
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified || req.Method == http.MethodHead {
		return answerOther, ""
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return answerJSON, ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return answerOther, ""
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return answerJSON, ""
	case mt == "text/html" || mt == "application/xhtml+xml":
		return answerHTML, mt
	}
	return answerOther, ""
}

// cancelBody releases the request's deadline when the body is closed, and
// reports a body read cut by the deadline as a TimeoutError.
type cancelBody struct {
	io.ReadCloser
	cancel      context.CancelFunc
	g           *guard
	parent, ctx context.Context
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.g.timedOut(b.parent, b.ctx, err)
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
