// Package sinktest is the conformance suite every sink passes (after
// restic's internal/backend/test): round trip, idempotent second put,
// concurrent puts, a failed put leaves the previous value, and no secret in
// any error, ID or description. Each sink's _test.go calls Run.
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// Options describes what a sink can do and how the suite breaks it.
type Options struct {
	// Readable: Get returns what Put delivered. False for write-only sinks,
	// whose Get must answer ErrNotReadable.
	Readable bool
	// Comparable: a second Put of the value the sink holds writes nothing
	// and reports changed=false. False for sinks that always deliver (exec).
	Comparable bool
	// Observe reads the delivered value out of band for sinks that cannot
	// Get (e.g. the file an exec hook writes to). Optional; without it and
	// without Readable the suite cannot check values, only errors.
	Observe func(t *testing.T, s sink.Sink) (secret.Secret, error)
	// BreakNextPut makes the following Puts to s fail until restore is
	// called. Required.
	BreakNextPut func(t *testing.T, s sink.Sink) (restore func())
	// Value returns the i-th distinct test secret. Optional; the default is
	// a glpat-shaped value GitLab accepts as a masked variable.
	Value func(i int) secret.Secret
	// Concurrency is the number of goroutines putting at once (default 8).
	Concurrency int
}

// Run runs the suite; newSink returns a fresh, empty sink for each subtest.
func Run(t *testing.T, newSink func(t *testing.T) sink.Sink, opts Options) {
	t.Helper()
	if opts.BreakNextPut == nil {
		t.Fatal("sinktest: Options.BreakNextPut is required")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	nonce := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	if opts.Value == nil {
		opts.Value = func(i int) secret.Secret {
			return secret.New(fmt.Sprintf("glpat-sinktest%s-%04dx", nonce, i))
		}
	}
	r := &runner{opts: opts}
	t.Run("Identity", func(t *testing.T) { r.identity(t, newSink(t)) })
	t.Run("GetEmpty", func(t *testing.T) { r.getEmpty(t, newSink(t)) })
	t.Run("RoundTrip", func(t *testing.T) { r.roundTrip(t, newSink(t)) })
	t.Run("IdempotentPut", func(t *testing.T) { r.idempotent(t, newSink(t)) })
	t.Run("ConcurrentPuts", func(t *testing.T) { r.concurrent(t, newSink(t)) })
	t.Run("FailedPutKeepsPrevious", func(t *testing.T) { r.failedPut(t, newSink(t)) })
	t.Run("CancelledContext", func(t *testing.T) { r.cancelled(t, newSink(t)) })
}

type runner struct{ opts Options }

// read returns what the sink holds, and whether the suite can know it.
func (r *runner) read(t *testing.T, s sink.Sink) (secret.Secret, bool) {
	t.Helper()
	switch {
	case r.opts.Readable:
		v, err := s.Get(context.Background())
		if err != nil {
			t.Fatalf("Get after a successful Put: %v", err)
		}
		return v, true
	case r.opts.Observe != nil:
		v, err := r.opts.Observe(t, s)
		if err != nil {
			t.Fatalf("Observe after a successful Put: %v", err)
		}
		return v, true
	}
	return secret.Secret{}, false
}

func (r *runner) mustHold(t *testing.T, s sink.Sink, want secret.Secret, when string) {
	t.Helper()
	got, ok := r.read(t, s)
	if ok && !got.Equal(want) {
		t.Fatalf("%s: sink holds %s, want %s", when, got.Hint(), want.Hint())
	}
}

func (r *runner) put(t *testing.T, s sink.Sink, v secret.Secret) bool {
	t.Helper()
	changed, err := s.Put(context.Background(), v)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return changed
}

// noSecret fails the test when text contains any of the suite's values.
func (r *runner) noSecret(t *testing.T, what, text string, upto int) {
	t.Helper()
	for i := 0; i <= upto; i++ {
		if v := r.opts.Value(i).Reveal(); strings.Contains(text, v) {
			t.Fatalf("%s contains secret #%d: %q", what, i, strings.ReplaceAll(text, v, "<SECRET>"))
		}
	}
}

func (r *runner) identity(t *testing.T, s sink.Sink) {
	id, desc := s.ID(), s.Describe()
	if id == "" || desc == "" {
		t.Fatalf("ID %q and Describe %q must not be empty", id, desc)
	}
	r.put(t, s, r.opts.Value(0))
	if s.ID() != id {
		t.Fatalf("ID changed after Put: %q, then %q", id, s.ID())
	}
	r.noSecret(t, "ID", s.ID(), 0)
	r.noSecret(t, "Describe", s.Describe(), 0)
}

func (r *runner) getEmpty(t *testing.T, s sink.Sink) {
	_, err := s.Get(context.Background())
	if r.opts.Readable && !errors.Is(err, sink.ErrNotFound) {
		t.Fatalf("Get on an empty sink: %v, want ErrNotFound", err)
	}
	// A write-only sink may still know that nothing is there.
	if !r.opts.Readable && !errors.Is(err, sink.ErrNotReadable) && !errors.Is(err, sink.ErrNotFound) {
		t.Fatalf("Get on an empty write-only sink: %v, want ErrNotReadable or ErrNotFound", err)
	}
}

func (r *runner) roundTrip(t *testing.T, s sink.Sink) {
	for i := range 3 {
		v := r.opts.Value(i)
		if !r.put(t, s, v) {
			t.Fatalf("Put of new value #%d reported changed=false", i)
		}
		r.mustHold(t, s, v, fmt.Sprintf("after Put #%d", i))
	}
	if !r.opts.Readable {
		if _, err := s.Get(context.Background()); !errors.Is(err, sink.ErrNotReadable) {
			t.Fatalf("Get on a write-only sink: %v, want ErrNotReadable", err)
		}
	}
}

func (r *runner) idempotent(t *testing.T, s sink.Sink) {
	v := r.opts.Value(0)
	r.put(t, s, v)
	changed := r.put(t, s, v)
	if r.opts.Comparable && changed {
		t.Fatal("second Put of the same value reported changed=true; a comparable sink must not write again")
	}
	if !r.opts.Comparable && !changed {
		t.Fatal("a sink that cannot compare reported changed=false")
	}
	r.mustHold(t, s, v, "after the second Put")
}

func (r *runner) concurrent(t *testing.T, s sink.Sink) {
	n := r.opts.Concurrency
	r.put(t, s, r.opts.Value(0))
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.Put(context.Background(), r.opts.Value(i+1)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Put #%d: %v", i+1, err)
		}
	}
	if t.Failed() {
		return
	}
	if got, ok := r.read(t, s); ok {
		match := false
		for i := range n {
			match = match || got.Equal(r.opts.Value(i+1))
		}
		if !match {
			t.Fatalf("after %d concurrent Puts the sink holds %s, which none of them wrote", n, got.Hint())
		}
	}
	// The sink still works afterwards.
	v := r.opts.Value(n + 1)
	r.put(t, s, v)
	r.mustHold(t, s, v, "after the concurrent Puts")
}

func (r *runner) failedPut(t *testing.T, s sink.Sink) {
	prev, next := r.opts.Value(0), r.opts.Value(1)
	r.put(t, s, prev)
	restore := r.opts.BreakNextPut(t, s)
	changed, err := s.Put(context.Background(), next)
	restore()
	if err == nil {
		t.Fatal("Put succeeded although BreakNextPut broke the sink")
	}
	if changed {
		t.Error("failed Put reported changed=true")
	}
	r.noSecret(t, "the error of a failed Put", err.Error(), 1)
	if !strings.HasPrefix(err.Error(), "sink ") {
		t.Errorf("error %q does not start with the sink's name (\"sink <kind>: …\")", err)
	}
	r.mustHold(t, s, prev, "after a failed Put")
	if !r.put(t, s, next) {
		t.Fatal("Put after recovery reported changed=false")
	}
	r.mustHold(t, s, next, "after recovery")
}

func (r *runner) cancelled(t *testing.T, s sink.Sink) {
	prev := r.opts.Value(0)
	r.put(t, s, prev)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, r.opts.Value(1)); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	} else {
		r.noSecret(t, "the error of a cancelled Put", err.Error(), 1)
	}
	r.mustHold(t, s, prev, "after a cancelled Put")
}
