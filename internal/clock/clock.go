// Package clock owns the notion of "now" for everything in tokenwarden that
// schedules or compares times, so that tests (and the emulator) can drive time
// by hand instead of sleeping.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and makes timers. Real code takes a Clock; tests pass a *Fake.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once d has passed on this clock.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that callers need.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Fake is a clock that only moves when told to. It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a Fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d and fires every timer that became due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.setLocked(f.now.Add(d))
	f.mu.Unlock()
}

// Set moves the clock to t (forward or backward) and fires due timers.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.setLocked(t)
	f.mu.Unlock()
}

func (f *Fake) setLocked(t time.Time) {
	f.now = t
	sort.Slice(f.timers, func(i, j int) bool { return f.timers[i].at.Before(f.timers[j].at) })
	keep := f.timers[:0]
	for _, tm := range f.timers {
		if !tm.at.After(t) {
			select {
			case tm.c <- t:
			default:
			}
			continue
		}
		keep = append(keep, tm)
	}
	f.timers = keep
}

// Waiters reports how many timers are pending; tests use it to know that a
// goroutine has gone to sleep before advancing the clock.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	tm := &fakeTimer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		tm.c <- f.now
		return tm
	}
	f.timers = append(f.timers, tm)
	return tm
}

type fakeTimer struct {
	f  *Fake
	at time.Time
	c  chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, tm := range t.f.timers {
		if tm == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Virtual is the clock of a deterministic simulation, in which one
// goroutine drives all the work step by step (internal/soak). Nothing
// else runs while that goroutine waits, so a wait is over at once: NewTimer
// moves the clock forward to the timer's due time and returns it fired.
// Time thus passes exactly as the waits in the work say, and no faster or
// slower than the simulation moves it with Set and Advance. It is safe for
// concurrent use, but waits made concurrently each move the clock.
//
// A Virtual clock is a Fake on which every wait moves the clock to its end,
// so that no timer is ever left pending.
type Virtual struct {
	fake Fake
}

// NewVirtual returns a Virtual clock set to t.
func NewVirtual(t time.Time) *Virtual { return &Virtual{fake: Fake{now: t}} }

func (v *Virtual) Now() time.Time { return v.fake.Now() }

// Advance moves the clock forward by d (never backward).
func (v *Virtual) Advance(d time.Duration) {
	if d > 0 {
		v.fake.Advance(d)
	}
}

// Set moves the clock to t when t is later than now.
func (v *Virtual) Set(t time.Time) {
	v.fake.mu.Lock()
	if t.After(v.fake.now) {
		v.fake.setLocked(t)
	}
	v.fake.mu.Unlock()
}

// Sleep is a wait of d: the clock moves forward by d.
func (v *Virtual) Sleep(d time.Duration) { v.fake.Advance(d) }

// NewTimer moves the clock forward by d and returns a timer that has fired.
func (v *Virtual) NewTimer(d time.Duration) Timer {
	v.Sleep(d)
	return v.fake.NewTimer(0)
}

// Sleeper is a clock on which waiting takes no real time (Virtual). Code
// that would otherwise wait in real time whatever its clock — an HTTP
// library's retry backoff — waits on it instead.
type Sleeper interface {
	Clock
	Sleep(d time.Duration)
}
