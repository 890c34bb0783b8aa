package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Sentinel errors callers branch on (errors.Is). The errors this package
// returns read as sentences for people and wrap one of these.
var (
	ErrTokenRejected     = errors.New("token rejected")
	ErrInsufficientScope = errors.New("insufficient scope")
	ErrNoPermission      = errors.New("no permission")
	ErrNotFound          = errors.New("not found")
	ErrUnreachable       = errors.New("unreachable")
	ErrRateLimited       = errors.New("rate limited")
	// ErrTimeout is a request GitLab did not answer in time; it also
	// matches ErrUnreachable.
	ErrTimeout = errors.New("timed out")
	// ErrNotAPI is an answer that cannot be GitLab's API (an HTML page).
	ErrNotAPI = errors.New("not a GitLab API")
)

// Error is an API failure translated for people. Error() is the message;
// errors.Is matches its Kind; Unwrap gives client-go's error.
type Error struct {
	Kind   error
	Msg    string
	Status int    // HTTP status, 0 for transport errors
	Hint   string // what to do about it, when this package knows
	cause  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.cause }
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Kind == ErrTimeout && target == ErrUnreachable)
}

// HintText is Hint, behind an interface{ HintText() string }.
func (e *Error) HintText() string { return e.Hint }

// target says what a request was about, so that an error can name it.
type target struct {
	kind string // "group", "project", "user", "instance"
	path string
	// tokens is set when the request listed access tokens: a plain 401 there
	// means the caller lacks the role, not that its token is bad.
	tokens bool
}

// classify turns a client-go error into an *Error that says what went wrong
// in terms of the token and the resource, never echoing the token.
func (c *Client) classify(err error, t target) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	if errors.Is(err, gl.ErrNotFound) {
		msg := "not found"
		switch t.kind {
		case "group", "project", "user":
			msg = fmt.Sprintf("%s %q not found (or the token's user cannot see it)", t.kind, t.path)
		}
		return &Error{Kind: ErrNotFound, Msg: msg, Status: http.StatusNotFound, cause: err}
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return &Error{Kind: ErrTimeout, Msg: te.Error(), Hint: te.HintText(), cause: err}
	}
	var na *NotAPIError
	if errors.As(err, &na) {
		return &Error{Kind: ErrNotAPI, Msg: na.Error(), Hint: na.HintText(), cause: err}
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return c.classifyResponse(er, t)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return &Error{Kind: ErrUnreachable, Msg: fmt.Sprintf("cannot reach GitLab at %s: %s", c.baseURL, transportCause(err)), cause: err}
	}
	return fmt.Errorf("%s: %w", describeTarget(t), err)
}

func (c *Client) classifyResponse(er *gl.ErrorResponse, t target) error {
	status := er.Response.StatusCode
	var body struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Scope            string `json:"scope"`
	}
	_ = json.Unmarshal(er.Body, &body)
	mk := func(kind error, msg string) error {
		return &Error{Kind: kind, Msg: msg, Status: status, cause: er}
	}
	switch {
	case status == http.StatusUnauthorized && body.ErrorDescription != "":
		// Expired or revoked: GitLab says which.
		return mk(ErrTokenRejected, "the token was rejected: "+strings.TrimSuffix(body.ErrorDescription, "."))
	case status == http.StatusUnauthorized && t.tokens:
		role := "Owner"
		if t.kind == "project" {
			role = "Maintainer (or Owner)"
		}
		return mk(ErrNoPermission, fmt.Sprintf("listing the access tokens of %s %q needs the %s role; the token's user does not have it", t.kind, t.path, role))
	case status == http.StatusUnauthorized:
		return mk(ErrTokenRejected, "the token was rejected (expired, revoked or unknown)")
	case status == http.StatusForbidden && body.Error == "insufficient_scope":
		return mk(ErrInsufficientScope, "the token lacks scope "+scopeNeeded(body.Scope))
	case status == http.StatusForbidden:
		return mk(ErrNoPermission, fmt.Sprintf("%s: forbidden (%s)", describeTarget(t), er.Message))
	case status == http.StatusTooManyRequests:
		return mk(ErrRateLimited, fmt.Sprintf("%s: GitLab kept answering 429 Too Many Requests", describeTarget(t)))
	}
	msg := er.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	return mk(errors.New(msg), fmt.Sprintf("%s: GitLab answered %d %s", describeTarget(t), status, msg))
}

// scopeNeeded turns GitLab's accepted-scopes list ("api read_api") into
// "read_api (or api)": the smallest scope first.
func scopeNeeded(accepted string) string {
	scopes := strings.Fields(accepted)
	if len(scopes) == 0 {
		return "read_api (or api)"
	}
	var first string
	var rest []string
	for _, s := range scopes {
		if first == "" && strings.HasPrefix(s, "read_") {
			first = s
			continue
		}
		rest = append(rest, s)
	}
	if first == "" {
		first, rest = rest[0], rest[1:]
	}
	if len(rest) == 0 {
		return first
	}
	return first + " (or " + strings.Join(rest, ", ") + ")"
}

func describeTarget(t target) string {
	switch {
	case t.tokens:
		return fmt.Sprintf("list access tokens of %s %s", t.kind, t.path)
	case t.path != "":
		return t.kind + " " + t.path
	}
	return "GitLab"
}

// transportCause is the innermost useful part of a transport error
// ("dial tcp 127.0.0.1:1: connect: connection refused"), without the URL
// and retry noise retryablehttp adds.
func transportCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
