package policy

import (
	"strings"
)

// undescriptiveNames are names that say nothing about a token's consumer or
// purpose, compared after Undescriptive's normalisation.
var undescriptiveNames = map[string]bool{
	"test": true, "testing": true, "test token": true, "tests": true,
	"token": true, "tok": true, "my token": true, "mytoken": true, "new token": true, "newtoken": true,
	"new": true, "access token": true, "api token": true, "gitlab token": true, "pat": true,
	"personal access token": true, "group token": true, "project token": true,
	"asdf": true, "asdfgh": true, "asdfasdf": true, "qwerty": true, "qwe": true,
	"foo": true, "bar": true, "baz": true, "foobar": true, "abc": true, "xyz": true,
	"x": true, "xx": true, "xxx": true, "a": true, "aaa": true,
	"tmp": true, "temp": true, "temporary": true, "dummy": true, "sample": true, "example": true,
	"delete me": true, "deleteme": true, "todo": true, "untitled": true, "default": true, "none": true,
}

// Undescriptive reports whether name says nothing about what uses the token:
// "test", "Token 2", "my_token", "asdf", "tmp", … (case-insensitive,
// separators and trailing numbers ignored). An empty name is undescriptive.
func Undescriptive(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' {
			return ' '
		}
		return r
	}, n)
	n = strings.Join(strings.Fields(n), " ")
	n = strings.TrimRight(n, "0123456789 ")
	if n == "" {
		return true
	}
	return undescriptiveNames[n]
}
