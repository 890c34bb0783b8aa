package sim

import (
	"testing"
	"time"
)

// A process following the emulator's clock (TOKENWARDEN_SIM_CLOCK) sees
// its time, GET /-/sim/clock needing no token, and a timer fires once the
// emulator's clock has been moved past it.
func TestRemoteClockFollowsTheEmulator(t *testing.T) {
	_, url, fake := newConformance(t, Options{})
	start := time.Date(2028, 2, 28, 23, 0, 0, 0, time.UTC)
	fake.Set(start)
	rc, err := NewRemoteClock(url)
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.Now(); got.Sub(start).Abs() > time.Second {
		t.Fatalf("Now = %s, want about %s", got, start)
	}
	tm := rc.NewTimer(2 * time.Hour)
	defer tm.Stop()
	fake.Advance(90 * time.Minute)
	select {
	case <-tm.C():
		t.Fatal("the timer fired before the emulator's clock reached it")
	case <-time.After(10 * RemoteClockRefresh):
	}
	fake.Advance(time.Hour)
	select {
	case at := <-tm.C():
		if at.Before(start.Add(2 * time.Hour)) {
			t.Errorf("fired at %s", at)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the timer did not fire within 20s of the emulator's clock passing it")
	}
}
