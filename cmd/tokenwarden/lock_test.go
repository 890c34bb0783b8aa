package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// TestApplyRefusesWhileAnotherRunHoldsTheState: two processes must never
// start rotations on the same journal at once.
func TestApplyRefusesWhileAnotherRunHoldsTheState(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tw.yaml")
	// GitLab is asked about the managing token once the lock is held.
	_, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(defaultSimNow), RootToken: simRootToken})
	if err := os.WriteFile(cfg, []byte("gitlab: {url: "+url+", token_env: TW_LOCK_TEST_TOKEN}\nstate: sqlite://tw.db\ntokens: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TW_LOCK_TEST_TOKEN", simRootToken)
	unlock, err := journal.Lock("sqlite://" + filepath.Join(dir, "tw.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"apply", "-c", cfg, "--yes"}, {"rotate", "x:y", "-c", cfg}} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		if code != exitError || !strings.Contains(errOut.String(), "another tokenwarden process") || !strings.Contains(errOut.String(), "hint: wait for the other run") {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 naming the other process with a hint", args[0], code, errOut.String())
		}
	}
	unlock()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"apply", "-c", cfg, "--yes"}, &out, &errOut); code != exitOK {
		t.Fatalf("apply after unlock: exit %d: %s", code, errOut.String())
	}
}
