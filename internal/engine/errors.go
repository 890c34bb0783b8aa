package engine

import (
	"errors"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// isStatus reports whether GitLab answered err with code. client-go turns
// every 404 into the sentinel gl.ErrNotFound rather than an ErrorResponse.
func isStatus(err error, code int) bool {
	if code == http.StatusNotFound && errors.Is(err, gl.ErrNotFound) {
		return true
	}
	var er *gl.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// refusal is a failure that repeating cannot fix (the rotation fails
// rather than waiting for the next run).
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// permanent reports whether GitLab refused the request for good (a 4xx other
// than 429): repeating it cannot help.
func permanent(err error) bool {
	if errors.Is(err, gl.ErrNotFound) {
		return true
	}
	var rf *refusal
	if errors.As(err, &rf) {
		return true
	}
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return false
	}
	c := er.Response.StatusCode
	return c >= 400 && c < 500 && c != http.StatusTooManyRequests
}
