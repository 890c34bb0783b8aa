// Package testenv holds what tests share about the machine they run on. In
// CI (CI=true, which .ci/run sets) every service and tool the tests need is
// installed, so a missing one fails the test there instead of skipping it.
package testenv

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing stops t for want of what: a failure in CI, a skip elsewhere.
// what says what is missing and how to get it.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true but %s: CI must run this test", what)
	}
	t.Skip(what)
}
