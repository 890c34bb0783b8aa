// Package problem is how tokenwarden tells the operator what is wrong and
// what to do about it. It is a leaf: config, gitlab, the sinks and cmd all
// use it, and it imports nothing of tokenwarden's.
//
// Hinter is the one interface an error implements to carry a remedy: main
// prints "hint: …" under any error whose chain holds one — a config error,
// a key file error, a GitLab error or a sink's refusal alike. Problem is one
// thing wrong with a component's settings (a sink's Config.Validate returns
// them); config turns each into an error at the file and line of the setting.
package problem

import (
	"errors"
	"fmt"
)

// Hinter is an error that says what the operator can do about it.
type Hinter interface{ HintText() string }

// Hint returns the remedy err carries, or "": that of the first Hinter in
// its chain, looking past wrappers whose own hint is empty. Of errors joined
// with errors.Join (a config's problems) only the first that is a Hinter
// counts: its hint belongs to the first message.
func Hint(err error) string {
	for err != nil {
		if h, ok := err.(Hinter); ok && h.HintText() != "" {
			return h.HintText()
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				var h Hinter
				if errors.As(e, &h) {
					return Hint(e)
				}
			}
			return ""
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return ""
		}
	}
	return ""
}

// Problem is one thing wrong with a component's settings.
type Problem struct {
	// Key is the setting at fault, as written in the config ("path",
	// "env_pass"); "" means the settings as a whole.
	Key string
	// Msg says what is wrong, without the setting's place in the file
	// (config prefixes that): "path is required".
	Msg string
	// Hint says how to fix it.
	Hint string
}

// Errorf is a Problem with a formatted message.
func Errorf(key, hint, format string, a ...any) Problem {
	return Problem{Key: key, Msg: fmt.Sprintf(format, a...), Hint: hint}
}

// Error lets a Problem be returned as an error (by a sink's constructor,
// which refuses the first problem of its Config).
func (p Problem) Error() string { return p.Msg }

// HintText is the hint.
func (p Problem) HintText() string { return p.Hint }

// List collects a component's problems in the order they are found; a
// Config.Validate returns it as its []Problem.
type List []Problem

// Add appends a Problem with a formatted message.
func (l *List) Add(key, hint, format string, a ...any) {
	*l = append(*l, Errorf(key, hint, format, a...))
}
