package sim

import (
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// LiveClock is the wall clock plus an offset that can be moved, for the
// standalone emulator: time keeps flowing (rate-limit windows roll over,
// last_used_at moves) and POST /-/sim/clock can still jump it forward.
type LiveClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (l *LiveClock) Now() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Now().Add(l.offset)
}

func (l *LiveClock) NewTimer(d time.Duration) clock.Timer { return clock.Real{}.NewTimer(d) }

// Advance moves the clock forward by d.
func (l *LiveClock) Advance(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offset += d
}

// Set makes Now return t (and carry on from there).
func (l *LiveClock) Set(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offset = time.Until(t)
}

// settableClock is a clock the emulator can move: *clock.Fake or *LiveClock.
type settableClock interface {
	clock.Clock
	Advance(time.Duration)
	Set(time.Time)
}
