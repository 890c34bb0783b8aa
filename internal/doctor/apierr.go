package doctor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"
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

// classify maps an error from client-go. client-go turns every 404 into the
// body-less gl.ErrNotFound; other statuses keep their body.
func classify(err error) apiError {
	if errors.Is(err, gl.ErrNotFound) {
		return apiError{status: http.StatusNotFound, message: "404 Not Found"}
	}
	var er *gl.ErrorResponse
	if !errors.As(err, &er) {
		return apiError{transport: err}
	}
	a := apiError{message: er.Message}
	if er.Response != nil {
		a.status = er.Response.StatusCode
	}
	var body struct {
		Message          any    `json:"message"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Scope            string `json:"scope"`
	}
	if json.Unmarshal(er.Body, &body) == nil {
		if m, ok := body.Message.(string); ok {
			a.message = m
		}
		a.code, a.description, a.scope = body.Error, body.ErrorDescription, body.Scope
	}
	return a
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
