package daemon_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

const day = duration.Day

func TestRotatesExactlyAtRenewAt(t *testing.T) {
	w, old := managedWorld(t, "deploy", 20*day, 40*day)
	renewAt := start.Add(10 * day)

	p := w.start(nil)
	if until := p.asleep(t); !until.Equal(renewAt) {
		t.Fatalf("daemon sleeps until %s, want the token's RenewAt %s", until, renewAt)
	}
	if n := w.Clock.Waiters(); n != 1 {
		t.Fatalf("%d timers pending while asleep, want 1 (no polling)", n)
	}

	w.Clock.Advance(10*day - time.Second)
	if n := w.Clock.Waiters(); n != 1 {
		t.Fatalf("one second before RenewAt the timer fired (%d pending)", n)
	}
	if rs := p.rotations(t, "deploy"); len(rs) != 0 {
		t.Fatalf("rotation started one second before RenewAt: %+v", rs[0])
	}

	w.Clock.Advance(time.Second)
	revokeAfter := p.asleep(t)
	rs := p.rotations(t, "deploy")
	if len(rs) != 1 {
		t.Fatalf("%d rotations at RenewAt, want 1", len(rs))
	}
	r := rs[0]
	if !r.StartedAt.Equal(renewAt) || r.Step != journal.StepVerified || r.OldTokenID != old.ID {
		t.Fatalf("rotation started %s at step %s from token %d, want started %s, verified, from %d", r.StartedAt, r.Step, r.OldTokenID, renewAt, old.ID)
	}
	if got := w.whoami(w.fileSecret("deploy")); got != r.NewTokenID {
		t.Errorf("deploy.env holds token %d, want the new token %d", got, r.NewTokenID)
	}
	if !revokeAfter.Equal(renewAt.Add(time.Second)) {
		t.Errorf("after delivery the daemon sleeps until %s, want the end of the 1s grace %s", revokeAfter, renewAt.Add(time.Second))
	}

	w.Clock.Advance(time.Second)
	p.asleep(t)
	if r := p.rotations(t, "deploy")[0]; r.Step != journal.StepDone {
		t.Fatalf("after the grace period the rotation is at %s, want done", r.Step)
	}
	if tok, _ := w.Srv.Token(old.ID); !tok.Revoked {
		t.Error("old token not revoked after the grace period")
	}
	if live := w.live("deploy"); len(live) != 1 || live[0].ID != r.NewTokenID {
		t.Errorf("live deploy tokens %+v, want only %d", live, r.NewTokenID)
	}
	if kinds := w.events.kinds("project/acme/app:deploy"); !contains(kinds, notify.KindRotated) {
		t.Errorf("events %v, want a rotated event", kinds)
	}
}

func TestRestartFinishesRotation(t *testing.T) {
	w, old := managedWorld(t, "deploy", 3*day, 40*day)

	var crashed atomic.Bool
	p1 := w.start(func(r *journal.Rotation, step journal.Step, after bool) error {
		if step == journal.StepDelivered && after && crashed.CompareAndSwap(false, true) {
			return engine.ErrCrash
		}
		return nil
	})
	p1.asleep(t)
	if !crashed.Load() {
		t.Fatal("the due rotation never reached the delivered step")
	}
	rs := p1.rotations(t, "deploy")
	if len(rs) != 1 || rs[0].Step != journal.StepDelivered {
		t.Fatalf("after the crash: %d rotations, want 1 parked at delivered", len(rs))
	}
	p1.stop(t)

	p2 := w.start(nil)
	p2.asleep(t) // resumed: verified, waiting for the grace period
	w.Clock.Advance(time.Second)
	p2.asleep(t)

	rs = p2.rotations(t, "deploy")
	if len(rs) != 1 || rs[0].Step != journal.StepDone {
		t.Fatalf("after restart: %d rotations, first at %v, want exactly one, done", len(rs), rs[0].Step)
	}
	live := w.live("deploy")
	if len(live) != 1 || live[0].ID != rs[0].NewTokenID {
		t.Fatalf("live deploy tokens %+v, want exactly the new token %d", live, rs[0].NewTokenID)
	}
	if got := w.whoami(w.fileSecret("deploy")); got != live[0].ID {
		t.Errorf("deploy.env holds token %d, want %d", got, live[0].ID)
	}
	if tok, _ := w.Srv.Token(old.ID); !tok.Revoked {
		t.Error("old token not revoked")
	}
}

func TestTwoDueTokensBothRotate(t *testing.T) {
	w := newWorld(t)
	a := w.token("alpha", 3*day, 40*day)
	b := w.token("beta", 2*day, 40*day)
	w.writeConfig(tokenSpec{"alpha", "overlap"}, tokenSpec{"beta", "rotate"})

	p := w.start(nil)
	p.asleep(t)
	w.Clock.Advance(time.Second) // alpha's grace period
	p.asleep(t)

	for _, tc := range []struct {
		name string
		old  int64
	}{{"alpha", a.ID}, {"beta", b.ID}} {
		rs := p.rotations(t, tc.name)
		if len(rs) != 1 || rs[0].Step != journal.StepDone {
			t.Errorf("%s: %d rotations, want one, done", tc.name, len(rs))
			continue
		}
		live := w.live(tc.name)
		if len(live) != 1 || live[0].ID == tc.old {
			t.Errorf("%s: live tokens %+v, want exactly one new token", tc.name, live)
			continue
		}
		if got := w.whoami(w.fileSecret(tc.name)); got != live[0].ID {
			t.Errorf("%s.env holds token %d, want %d", tc.name, got, live[0].ID)
		}
	}
}

func TestReloadPicksUpNewToken(t *testing.T) {
	w, _ := managedWorld(t, "deploy", 20*day, 40*day)
	p := w.start(nil)
	p.asleep(t)
	if len(w.live("fresh")) != 0 {
		t.Fatal("token fresh exists before it is configured")
	}

	w.writeConfig(tokenSpec{"deploy", "overlap"}, tokenSpec{"fresh", "overlap"})
	if err := p.d.Reload(); err != nil {
		t.Fatal(err)
	}
	p.asleep(t)

	live := w.live("fresh")
	if len(live) != 1 {
		t.Fatalf("after reload: %d live fresh tokens, want 1", len(live))
	}
	if got := w.whoami(w.fileSecret("fresh")); got != live[0].ID {
		t.Errorf("fresh.env holds token %d, want %d", got, live[0].ID)
	}
	if rs := p.rotations(t, "deploy"); len(rs) != 0 {
		t.Errorf("deploy (not due) was rotated on reload")
	}

	// A broken config is refused and the old one stays.
	simtest.WriteFile(t, w.Dir+"/tw.yaml", "tokens: [oops\n")
	if err := p.d.Reload(); err == nil {
		t.Error("Reload accepted a broken config")
	}
	if n := len(p.d.Config().Tokens); n != 2 {
		t.Errorf("after a failed reload the daemon has %d tokens, want the previous 2", n)
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestFenceStopsTheRotationAtOnce: a daemon that loses its leadership stops
// the rotation in progress between two steps, without the shutdown grace,
// so that the new leader alone resumes it from the journal.
func TestFenceStopsTheRotationAtOnce(t *testing.T) {
	w, _ := managedWorld(t, "deploy", 3*day, 40*day)
	w.fence = make(chan struct{})
	var once sync.Once
	p := w.start(func(r *journal.Rotation, step journal.Step, after bool) error {
		if step == journal.StepMinted && after {
			once.Do(func() {
				close(w.fence)
				time.Sleep(100 * time.Millisecond) // let the fence cancel the work
			})
		}
		return nil
	})
	p.asleep(t)
	rs := p.rotations(t, "deploy")
	if len(rs) != 1 || rs[0].Step != journal.StepMinted || len(rs[0].Delivered) != 0 {
		t.Fatalf("after the fence: %+v, want one rotation parked at minted with nothing delivered", rs)
	}
	p.stop(t)
}

// An adopted token whose secret tokenwarden never knew is rotated at once
// (overlap) so that its sinks hold a secret, not at its next renewal.
func TestAdoptedTokenDeliveredAtOnce(t *testing.T) {
	w, old := managedWorld(t, "deploy", 20*day, 40*day)
	w.editConfig("adopt: wait", "adopt: deliver", "")

	p := w.start(nil)
	p.asleep(t)
	rs := p.rotations(t, "deploy")
	if len(rs) != 1 || rs[0].OldTokenID != old.ID || !rs[0].StartedAt.Equal(start) {
		t.Fatalf("rotations at start: %+v, want one from adopted token %d at once", rs, old.ID)
	}
	if got := w.whoami(w.fileSecret("deploy")); got != rs[0].NewTokenID {
		t.Errorf("deploy.env holds token %d, want the new token %d", got, rs[0].NewTokenID)
	}
}

// A daemon standing by (Deps.Leading not closed: another daemon leads)
// does nothing: no scan, no rotation of a due token. Once it leads, it
// works as any other.
func TestStandingByDaemonWaitsToLead(t *testing.T) {
	w, _ := managedWorld(t, "deploy", 3*day, 40*day) // due now
	w.leading = make(chan struct{})
	p := w.start(nil)
	if p.d.Leading() || p.d.Ready() {
		t.Fatalf("standing by: Leading %v, Ready %v; want neither", p.d.Leading(), p.d.Ready())
	}
	if rs := p.rotations(t, "deploy"); len(rs) != 0 {
		t.Fatalf("rotated while standing by: %+v", rs)
	}
	close(w.leading)
	p.asleep(t)
	if !p.d.Leading() || !p.d.Ready() {
		t.Errorf("leading: Leading %v, Ready %v; want both", p.d.Leading(), p.d.Ready())
	}
	if rs := p.rotations(t, "deploy"); len(rs) != 1 {
		t.Errorf("%d rotations once leading, want 1", len(rs))
	}
}
