package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

// checkPresent: the variable is set and not empty, the file exists and is
// readable, stdin delivered something.
func checkPresent(_ context.Context, s *session) Result {
	o := s.in.Origin
	switch o.Kind {
	case "env":
		if !o.Found {
			return fail(fmt.Sprintf("environment variable %s is not set", o.Name), s.setVariableFix("set "+o.Name+" to the token"))
		}
		if s.in.Token.IsZero() {
			return fail(fmt.Sprintf("environment variable %s is set but empty", o.Name), s.setVariableFix("put the token into "+o.Name))
		}
		return pass(o.Name + " is set")
	case "file":
		if o.Err != nil || !o.Found {
			if errors.Is(o.Err, fs.ErrNotExist) || (!o.Found && o.Err == nil) {
				return fail(fmt.Sprintf("file %s does not exist", o.Name), fmt.Sprintf("write the token into %s, or point --file at the file that holds it", o.Name))
			}
			if errors.Is(o.Err, fs.ErrPermission) {
				return fail(fmt.Sprintf("file %s cannot be read: permission denied", o.Name), fmt.Sprintf("run doctor as the user the consumer runs as, or let that user read %s (chmod 0600, owned by that user)", o.Name))
			}
			return fail(fmt.Sprintf("file %s cannot be read: %v", o.Name, o.Err), fmt.Sprintf("check that %s is a readable file", o.Name))
		}
		if s.in.Token.IsZero() {
			return fail(fmt.Sprintf("file %s is empty", o.Name), fmt.Sprintf("write the token into %s", o.Name))
		}
		return pass(o.Name + " holds a value")
	default:
		if o.Err != nil {
			return fail(fmt.Sprintf("reading the token from stdin failed: %v", o.Err), "pipe the token into doctor, e.g. printf %s \"$TOKEN\" | tokenwarden doctor -")
		}
		if s.in.Token.IsZero() {
			return fail("nothing arrived on stdin", "pipe the token into doctor, e.g. printf %s \"$TOKEN\" | tokenwarden doctor -")
		}
		return pass("a value arrived on stdin")
	}
}

// setVariableFix says how to set a variable, with the two GitLab CI reasons a
// variable that exists in the settings is missing from a job.
func (s *session) setVariableFix(what string) string {
	name := s.in.Origin.Name
	if s.in.InCI {
		return fmt.Sprintf("%s in Settings > CI/CD > Variables. If %s is already defined there: a protected variable reaches only pipelines on protected branches and tags (protect this branch or unprotect the variable), and a variable with an environment scope reaches only jobs whose environment matches (set the job's environment or widen the scope to *)", what, name)
	}
	return fmt.Sprintf("%s, e.g. export %s=glpat-… (read it from a file or a secret store rather than typing it on the command line)", what, name)
}
