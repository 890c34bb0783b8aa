package doctor

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// apiError is a GitLab error answer, reduced to what doctor branches on.
type apiError struct {
	status      int    // 0 when no HTTP answer came back
	message     string // "message" of the body, e.g. "401 Unauthorized"
	code        string // "error" of the body, e.g. "invalid_token", "insufficient_scope"
	description string // "error_description" of the body
	scope       string // "scope" of a 403 insufficient_scope: the scopes the endpoint accepts
	transport   error  // set when no HTTP answer came back
}

// classify reads what doctor needs from the *gitlab.Error the client
// returned (package gitlab decodes GitLab's answers).
func classify(err error) apiError {
	ge, ok := gitlab.AsError(err)
	if !ok {
		return apiError{transport: err}
	}
	if ge.Status == 0 {
		if cause := errors.Unwrap(ge); cause != nil {
			err = cause // the transport's own words: plainError trims them
		}
		return apiError{transport: err}
	}
	return apiError{status: ge.Status, message: ge.APIMessage, code: ge.Code, description: ge.Description, scope: ge.Scope}
}

func (a apiError) expired() bool {
	return a.status == http.StatusUnauthorized && strings.Contains(a.description, "Token is expired")
}

func (a apiError) revoked() bool {
	return a.status == http.StatusUnauthorized && strings.Contains(a.description, "Token was revoked")
}

func (a apiError) insufficientScope() bool {
	return a.status == http.StatusForbidden && a.code == "insufficient_scope"
}

// String says what GitLab answered, for a detail line.
func (a apiError) String() string {
	if a.transport != nil {
		return "no answer: " + plainError(a.transport)
	}
	switch {
	case a.description != "":
		return fmt.Sprintf("%d %s", a.status, a.description)
	case a.message != "":
		if strings.HasPrefix(a.message, fmt.Sprint(a.status)) {
			return a.message
		}
		return fmt.Sprintf("%d %s", a.status, a.message)
	}
	return fmt.Sprintf("%d %s", a.status, http.StatusText(a.status))
}
