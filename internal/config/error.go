package config

import (
	"errors"
	"fmt"
	"sort"
)

// Error is one problem in a configuration file, at a line, with a hint that
// says how to fix it. Load and Parse return several of them joined with
// errors.Join, in line order; Errors splits them again.
type Error struct {
	File string
	Line int
	Msg  string
	Hint string
}

func (e *Error) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// HintText returns the hint (it cannot be a method named Hint next to the
// field): main prints it, as every problem.Hinter's.
func (e *Error) HintText() string { return e.Hint }

// Errors returns every *Error in err (which may be an errors.Join of them).
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

// joinSorted joins errs in line order (stable for errors on the same line).
func joinSorted(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}
