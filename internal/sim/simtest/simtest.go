// Package simtest starts the GitLab emulator for tests. It lives apart from
// internal/sim so that the tokenwarden binary, which embeds the emulator,
// links neither testing nor httptest.
package simtest

import (
	"net/http/httptest"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// Start serves a new emulator over httptest until the test ends and returns
// it with its base URL (without /api/v4).
func Start(t testing.TB, opts sim.Options) (*sim.Server, string) {
	t.Helper()
	s, err := sim.New(opts)
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}
