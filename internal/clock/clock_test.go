package clock

import (
	"testing"
	"time"
)

// On a Virtual clock a wait is over at once and has moved the clock by its
// length; Set never moves it back.
func TestVirtualWaitMovesTheClock(t *testing.T) {
	t0 := time.Date(2028, 2, 28, 23, 0, 0, 0, time.UTC)
	v := NewVirtual(t0)
	tm := v.NewTimer(90 * time.Minute)
	select {
	case got := <-tm.C():
		if want := t0.Add(90 * time.Minute); !got.Equal(want) || !v.Now().Equal(want) {
			t.Fatalf("timer fired at %s, clock at %s; want both %s", got, v.Now(), want)
		}
	default:
		t.Fatal("the timer has not fired")
	}
	v.Set(t0)
	if !v.Now().Equal(t0.Add(90 * time.Minute)) {
		t.Errorf("Set into the past moved the clock back to %s", v.Now())
	}
	v.Sleep(time.Hour)
	if want := time.Date(2028, 2, 29, 1, 30, 0, 0, time.UTC); !v.Now().Equal(want) {
		t.Errorf("after Sleep the clock is at %s, want %s", v.Now(), want)
	}
}
