package sim_test

import (
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// A process following the emulator's clock (TOKENWARDEN_SIM_CLOCK) sees
// its time, GET /-/sim/clock needing no token, and a timer fires once the
// emulator's clock has been moved past it.
func TestRemoteClockFollowsTheEmulator(t *testing.T) {
	t0 := time.Date(2028, 2, 28, 23, 0, 0, 0, time.UTC)
	fake := clock.NewFake(t0)
	srv, url := simtest.Start(t, sim.Options{Clock: fake})
	_ = srv
	rc, err := sim.NewRemoteClock(url)
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.Now(); got.Sub(t0).Abs() > time.Second {
		t.Fatalf("Now = %s, want about %s", got, t0)
	}
	tm := rc.NewTimer(2 * time.Hour)
	defer tm.Stop()
	fake.Advance(90 * time.Minute)
	select {
	case <-tm.C():
		t.Fatal("the timer fired before the emulator's clock reached it")
	case <-time.After(10 * sim.RemoteClockRefresh):
	}
	fake.Advance(time.Hour)
	select {
	case at := <-tm.C():
		if at.Before(t0.Add(2 * time.Hour)) {
			t.Errorf("fired at %s", at)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the timer did not fire within 20s of the emulator's clock passing it")
	}
}
