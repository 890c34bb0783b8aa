package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// deployConfig manages deploy at accessLevel.
func (w *world) deployConfig(accessLevel string) {
	w.t.Helper()
	simtest.WriteFile(w.t, filepath.Join(w.Dir, "tw.yaml"), fmt.Sprintf(`gitlab: {url: %s, token_file: root.token}
state: sqlite://tw.db
key_file: tw.key
defaults: {lifetime: 40d, rotate_before: 10d, grace: 1s}
serve: {scan_interval: 30d}
tokens:
  - name: deploy
    description: managed deploy
    project: acme/app
    scopes: [read_api]
    access_level: %s
    deliver:
      - file: {path: deploy.env, format: dotenv, key: TOKEN}
`, w.URL, accessLevel))
}

// TestFailingRotationBacksOff: a rotation that GitLab refuses for good (here:
// the managing user is a Maintainer and the config asks for an Owner-level
// token) is not started again every five minutes for ever, each time with a
// new journal row and a "rotation failed" notification. The wait doubles
// after each failure; a config reload (the operator fixed something) tries
// again at once.
func TestFailingRotationBacksOff(t *testing.T) {
	w := newWorld(t)
	w.token("deploy", 3*day, 40*day)
	u, err := w.Srv.CreateUser("maintainer", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Srv.AddMember("project", w.Project.ID, u.ID, 40); err != nil {
		t.Fatal(err)
	}
	if _, w.managing, err = w.Srv.CreatePersonalToken(u.ID, sim.TokenSpec{Name: "tw", Scopes: []string{"api"}}); err != nil {
		t.Fatal(err)
	}
	w.deployConfig("owner")
	p := w.start(nil)

	end := start.Add(2 * time.Hour)
	var starts []time.Duration
	for {
		until := p.asleep(t)
		if !until.Before(end) {
			break
		}
		w.Clock.Advance(until.Sub(w.Clock.Now()))
	}
	for _, r := range p.rotations(t, "deploy") {
		if r.Step != journal.StepFailed {
			t.Fatalf("rotation %s at step %s, want failed (GitLab refuses an owner token)", r.ID, r.Step)
		}
		starts = append([]time.Duration{r.StartedAt.Sub(start)}, starts...) // the journal lists newest first
	}
	if len(starts) < 2 || len(starts) > 6 {
		t.Fatalf("%d failed rotations in 2h (started at %v), want a few, backing off", len(starts), starts)
	}
	for i := 2; i < len(starts); i++ {
		if gap, prev := starts[i]-starts[i-1], starts[i-1]-starts[i-2]; gap < 2*prev {
			t.Errorf("rotations started at %v: the wait after failure %d (%v) is not double the one before (%v)", starts, i, gap, prev)
		}
	}
	failed := 0
	for _, k := range w.events.kinds("project/acme/app:deploy") {
		if k == notify.KindRotationFailed {
			failed++
		}
	}
	if failed != len(starts) {
		t.Errorf("%d rotation-failed events for %d failed rotations", failed, len(starts))
	}

	// The operator fixes the config and reloads: no waiting out the backoff.
	w.deployConfig("maintainer")
	if err := p.d.Reload(); err != nil {
		t.Fatal(err)
	}
	p.asleep(t)
	if r := p.rotations(t, "deploy")[0]; r.Step != journal.StepVerified && r.Step != journal.StepDone {
		t.Errorf("after the reload the newest rotation is at %s (%s), want it verified at once", r.Step, r.Error)
	}
}

// TestRotateNowAfterStop: "rotate now" asked of a daemon that has stopped
// (a click during shutdown) answers at once instead of holding the request,
// and with it the HTTP server's shutdown, until the request's own timeout.
func TestRotateNowAfterStop(t *testing.T) {
	w, _ := managedWorld(t, "deploy", 20*day, 40*day)
	p := w.start(nil)
	p.asleep(t)
	p.stop(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	_, err := p.d.RotateNow(ctx, "project/acme/app:deploy")
	if err == nil || time.Since(began) > 5*time.Second {
		t.Fatalf("RotateNow on a stopped daemon: %v after %s, want an error at once", err, time.Since(began))
	}
	if !errors.Is(err, daemon.ErrStopped) {
		t.Errorf("RotateNow on a stopped daemon: %v, want ErrStopped", err)
	}
}
