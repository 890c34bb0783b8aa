package engine

import (
	"errors"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// refusal is a failure that repeating cannot fix (the rotation fails
// rather than waiting for the next run).
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// permanent reports whether repeating cannot help: GitLab refused the
// request for good (gitlab.Permanent), or the engine itself refuses.
func permanent(err error) bool {
	var rf *refusal
	return gitlab.Permanent(err) || errors.As(err, &rf)
}
