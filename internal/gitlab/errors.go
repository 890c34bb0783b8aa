package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
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

// Error is every failure of this package's calls: an API failure translated
// for people, with what GitLab said kept apart for callers that branch on it.
// Error() is Message; errors.Is matches its Kind; Unwrap gives the cause
// underneath (client-go's or the transport's error). It is the one place
// where GitLab's error answers are decoded: callers use its fields and the
// predicates below (IsNotFound, IsStatus, Permanent), never client-go.
type Error struct {
	Kind    error  // one of the Err… sentinels, or GitLab's message as an error
	Status  int    // HTTP status; 0 when no answer came back
	Message string // for people: what failed, never a secret
	Hint    string // what to do about it, when this package knows
	// What GitLab's error body said ("" when it did not say).
	APIMessage  string // "message": a string, or client-go's rendering of a structured one
	Code        string // "error", e.g. "invalid_token", "insufficient_scope"
	Description string // "error_description", e.g. "Token is expired. You can either …"
	Scope       string // "scope" of insufficient_scope: the scopes the endpoint accepts
	// Reason is Message without what was being done ("GitLab answered 400
	// Bad request - …", "cannot reach GitLab at …: connection refused"), for
	// callers that name the operation themselves.
	Reason string
	cause  error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.cause }
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Kind == ErrTimeout && target == ErrUnreachable)
}

// HintText is Hint, behind an interface{ HintText() string }.
func (e *Error) HintText() string { return e.Hint }

// AsError returns err's *Error, if it has one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StatusOf is the HTTP status GitLab answered err with; 0 when err is not
// an answer (a transport failure, a cancellation, nil).
func StatusOf(err error) int {
	if e, ok := AsError(err); ok {
		return e.Status
	}
	return 0
}

// IsStatus reports whether GitLab answered err with code.
func IsStatus(err error, code int) bool { return code != 0 && StatusOf(err) == code }

// IsNotFound reports whether GitLab answered 404: the resource (or token,
// or variable) does not exist, or the caller cannot see it.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsInsufficientScope reports a 403 because the token lacks a scope.
func IsInsufficientScope(err error) bool { return errors.Is(err, ErrInsufficientScope) }

// Permanent reports whether GitLab refused the request for good (a 4xx other
// than 429): repeating it cannot help. A failure without an answer (a
// timeout, a refused connection) is not permanent.
func Permanent(err error) bool {
	c := StatusOf(err)
	return c >= 400 && c < 500 && c != http.StatusTooManyRequests
}

// target says what a request was about, so that an error can name it.
type target struct {
	kind string // "group", "project", "user", "instance"
	path string
	// tokens is set when the request listed access tokens: a plain 401 there
	// means the caller lacks the role, not that its token is bad.
	tokens bool
	// op, when set, is what was being done ("create token "x" in group g"):
	// every message then starts with it.
	op string
}

// fail is classify for a call that names what it did: op prefixes the message.
func (c *Client) fail(err error, op string, args ...any) error {
	return c.classify(err, target{op: fmt.Sprintf(op, args...)})
}

// failOn is fail for a call about one group, project or user: a 404 says
// that it does not exist (or cannot be seen).
func (c *Client) failOn(err error, res Resource, op string, args ...any) error {
	return c.classify(err, target{kind: res.Type, path: res.Path, op: fmt.Sprintf(op, args...)})
}

// classify turns a client-go error into an *Error that says what went wrong
// in terms of the token and the resource, never echoing the token. The
// caller's cancellation stays what it is.
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
		// client-go answers every 404 with this sentinel, without the body.
		msg := "not found"
		switch {
		case t.kind == "group" || t.kind == "project" || t.kind == "user":
			msg = fmt.Sprintf("%s %q not found (or the token's user cannot see it)", t.kind, t.path)
		case t.op != "":
			msg = t.op + ": GitLab answered 404 Not Found"
		}
		return &Error{Kind: ErrNotFound, Message: msg, Status: http.StatusNotFound,
			APIMessage: "404 Not Found", Reason: "GitLab answered 404 Not Found", cause: err}
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return &Error{Kind: ErrTimeout, Message: t.prefix(te.Error()), Hint: te.HintText(), Reason: te.Error(), cause: err}
	}
	var na *NotAPIError
	if errors.As(err, &na) {
		return &Error{Kind: ErrNotAPI, Message: t.prefix(na.Error()), Hint: na.HintText(), Reason: na.Error(), cause: err}
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return classifyResponse(er, t)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		reason := fmt.Sprintf("cannot reach GitLab at %s: %s", c.baseURL, transportCause(err))
		return &Error{Kind: ErrUnreachable, Message: t.prefix(reason), Reason: reason, cause: err}
	}
	return &Error{Kind: err, Message: t.prefix(t.subject() + err.Error()), Reason: err.Error(), cause: err}
}

// invalid is a call this package refuses to send (a caller's mistake).
func invalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: errors.New(msg), Message: msg, Reason: msg}
}

// prefix puts the operation in front of msg, when the call named one.
func (t target) prefix(msg string) string {
	if t.op == "" {
		return msg
	}
	return t.op + ": " + msg
}

// subject is what a message about t starts with: "group g: ", "" for an op
// (prefix adds it).
func (t target) subject() string {
	if t.op != "" {
		return ""
	}
	return describeTarget(t) + ": "
}

func classifyResponse(er *gl.ErrorResponse, t target) error {
	status := er.Response.StatusCode
	var body struct {
		Message          any    `json:"message"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Scope            string `json:"scope"`
	}
	_ = json.Unmarshal(er.Body, &body)
	apiMsg := strings.TrimSpace(er.Message) // client-go's rendering of the whole body
	if m, ok := body.Message.(string); ok && m != "" {
		apiMsg = m // GitLab's own words, not "{message: …}"
	}
	detail := apiMsg
	if detail == "" {
		detail = http.StatusText(status)
	}
	// mk makes the error; about names the target in front of the reason
	// (the op, when there is one, always comes first).
	mk := func(kind error, reason string, about bool) error {
		msg := reason
		if about {
			msg = t.subject() + reason
		}
		return &Error{Kind: kind, Message: t.prefix(msg), Status: status, APIMessage: apiMsg,
			Code: body.Error, Description: body.ErrorDescription, Scope: body.Scope, Reason: reason, cause: er}
	}
	switch {
	case status == http.StatusUnauthorized && body.ErrorDescription != "":
		// Expired or revoked: GitLab says which.
		return mk(ErrTokenRejected, "the token was rejected: "+strings.TrimSuffix(body.ErrorDescription, "."), false)
	case status == http.StatusUnauthorized && t.tokens:
		role := "Owner"
		if t.kind == "project" {
			role = "Maintainer (or Owner)"
		}
		return mk(ErrNoPermission, fmt.Sprintf("listing the access tokens of %s %q needs the %s role; the token's user does not have it", t.kind, t.path, role), false)
	case status == http.StatusUnauthorized:
		return mk(ErrTokenRejected, "the token was rejected (expired, revoked or unknown)", false)
	case status == http.StatusForbidden && body.Error == "insufficient_scope":
		return mk(ErrInsufficientScope, "the token lacks scope "+scopeNeeded(body.Scope), false)
	case status == http.StatusForbidden:
		return mk(ErrNoPermission, fmt.Sprintf("forbidden (%s)", detail), true)
	case status == http.StatusTooManyRequests:
		if t.op != "" {
			return mk(ErrRateLimited, "GitLab answered 429 Too Many Requests", false)
		}
		return mk(ErrRateLimited, "GitLab kept answering 429 Too Many Requests", true)
	}
	answered := fmt.Sprintf("GitLab answered %d %s", status, detail)
	if strings.HasPrefix(detail, strconv.Itoa(status)+" ") {
		answered = "GitLab answered " + detail // "400 Bad request - …"
	}
	return mk(errors.New(detail), answered, true)
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
