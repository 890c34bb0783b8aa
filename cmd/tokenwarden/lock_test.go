package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// TestApplyRefusesWhileAnotherRunHoldsTheState: two processes must never
// start rotations on the same journal at once.
func TestApplyRefusesWhileAnotherRunHoldsTheState(t *testing.T) {
	dir := t.TempDir()
	// GitLab is asked about the managing token once the lock is held.
	_, url := startSim(t, sim.Options{})
	cfg := writeFile(t, dir, "tw.yaml", "gitlab: {url: "+url+", token_env: TW_LOCK_TEST_TOKEN}\nstate: sqlite://tw.db\ntokens: []\n")
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

// TestServeStandsByThenLeads: on a shared (PostgreSQL) state another
// daemon leads, so serve stands by — /healthz 200, /readyz and the
// dashboard 503 "standing by" — on the address it printed, and takes over
// on the same address once the leader lets go.
func TestServeStandsByThenLeads(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	if _, err := secret.LoadOrCreateKey(filepath.Join(dir, "tw.key")); err != nil {
		t.Fatal(err)
	}
	_, url := startSim(t, sim.Options{})
	cfg := writeFile(t, dir, "tw.yaml", fmt.Sprintf("gitlab: {url: %s, token_env: TW_SERVE_TEST_TOKEN}\nstate: %q\nkey_file: %s\ntokens: []\n",
		url, dsn, filepath.Join(dir, "tw.key")))
	t.Setenv("TW_SERVE_TEST_TOKEN", simRootToken)
	t.Setenv("TOKENWARDEN_PASSWORD", "operator-Password-5Ks")
	// The other daemon: it holds the state's lock.
	leader, err := journal.TryLock(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out simtest.Buffer
	done := make(chan error, 1)
	go func() {
		if code := run(ctx, []string{"serve", "-c", cfg, "--listen", "127.0.0.1:0"}, &out, &out); code != exitOK {
			done <- fmt.Errorf("serve: exit %d", code)
			return
		}
		done <- nil
	}()
	base := waitForDashboard(t, done, &out)
	get := func(path string) (int, string) { return httpGet(t, base+path, "") }
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("standing by: /healthz %d %q, want 200", code, body)
	}
	for _, path := range []string{"/readyz", "/", "/metrics"} {
		if code, body := get(path); code != http.StatusServiceUnavailable || !strings.Contains(body, "standing by") {
			t.Errorf("standing by: %s %d %q, want 503 standing by", path, code, body)
		}
	}

	leader.Unlock()
	waitFor(t, "taking over", done, &out, func() bool { code, _ := get("/readyz"); return code == http.StatusOK })
	if !strings.Contains(out.String(), "leading: took the state lock") {
		t.Errorf("the log does not say serve took over:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute of the interrupt")
	}
}
