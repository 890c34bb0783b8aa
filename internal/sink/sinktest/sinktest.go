// Package sinktest is the conformance suite every sink passes (after
// restic's internal/backend/test): round trip, idempotent second put,
// concurrent puts, a failed put leaves the previous value, and no secret in
// any error, ID or description — for a token alone, and, for a sink
// configured to deliver a username too (Options.NewTwoValue), for a token
// and its username (a deploy token). Each sink's _test.go calls Run.
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
	Observe func(t *testing.T, s sink.Sink) (secret.Credential, error)
	// NewTwoValue returns a fresh, empty sink configured to deliver a
	// username next to the token (username_key, …). Optional: with it,
	// the suite runs again under TwoValue/ with credentials that carry a
	// username, and checks that a username alone changing is delivered
	// and that a credential without a username is refused.
	NewTwoValue func(t *testing.T) sink.Sink
	// DefaultUsername is what a two-value sink writes next to a token that
	// has no username (kubernetes_secret's username:, "oauth2" for an
	// access token). Empty: it refuses such a token.
	DefaultUsername string
	// BreakNextPut makes the following Puts to s fail until restore is
	// called. Required.
	BreakNextPut func(t *testing.T, s sink.Sink) (restore func())
	// Value returns the i-th distinct test secret. Optional; the default is
	// a glpat-shaped value GitLab accepts as a masked variable.
	Value func(i int) secret.Secret
	// Concurrency is the number of goroutines putting at once (default 8).
	Concurrency int
}

// Run runs the suite; newSink returns a fresh, empty sink for each subtest
// (nil for a sink that always delivers a username: then only TwoValue runs).
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
	if newSink != nil { // nil: the sink always delivers a username (docker_config)
		r.run(t, newSink)
	}
	if opts.NewTwoValue != nil {
		t.Run("TwoValue", func(t *testing.T) {
			r2 := &runner{opts: opts, twoValue: true}
			r2.run(t, opts.NewTwoValue)
			t.Run("UsernameChange", func(t *testing.T) { r2.usernameChange(t, opts.NewTwoValue(t)) })
			if opts.DefaultUsername == "" {
				t.Run("NoUsernameRefused", func(t *testing.T) { r2.noUsername(t, opts.NewTwoValue(t)) })
			} else {
				t.Run("NoUsernameDefault", func(t *testing.T) { r2.defaultUsername(t, opts.NewTwoValue(t)) })
			}
		})
	}
}

func (r *runner) run(t *testing.T, newSink func(t *testing.T) sink.Sink) {
	t.Run("Identity", func(t *testing.T) { r.identity(t, newSink(t)) })
	t.Run("GetEmpty", func(t *testing.T) { r.getEmpty(t, newSink(t)) })
	t.Run("RoundTrip", func(t *testing.T) { r.roundTrip(t, newSink(t)) })
	t.Run("IdempotentPut", func(t *testing.T) { r.idempotent(t, newSink(t)) })
	t.Run("ConcurrentPuts", func(t *testing.T) { r.concurrent(t, newSink(t)) })
	t.Run("FailedPutKeepsPrevious", func(t *testing.T) { r.failedPut(t, newSink(t)) })
	t.Run("CancelledContext", func(t *testing.T) { r.cancelled(t, newSink(t)) })
}

type runner struct {
	opts     Options
	twoValue bool // the sink delivers a username: values carry one
}

// value is the i-th test credential: a token alone, or for a two-value
// sink the token and a username of a deploy token's shape.
func (r *runner) value(i int) secret.Credential {
	c := secret.TokenOnly(r.opts.Value(i))
	if r.twoValue {
		c.Username = fmt.Sprintf("gitlab+deploy-token-%d", 100+i)
	}
	return c
}

// read returns what the sink holds, and whether the suite can know it.
func (r *runner) read(t *testing.T, s sink.Sink) (secret.Credential, bool) {
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
	return secret.Credential{}, false
}

// holds reports whether got is want: the token alone for a sink that
// delivers no username (a username it reads back is not the suite's), both
// fields for a two-value sink.
func (r *runner) holds(got, want secret.Credential) bool {
	if r.twoValue {
		return got.Equal(want)
	}
	return got.Token.Equal(want.Token)
}

func (r *runner) mustHold(t *testing.T, s sink.Sink, want secret.Credential, when string) {
	t.Helper()
	got, ok := r.read(t, s)
	if ok && !r.holds(got, want) {
		t.Fatalf("%s: sink holds %q %s, want %q %s", when, got.Username, got.Token.Hint(), want.Username, want.Token.Hint())
	}
}

func (r *runner) put(t *testing.T, s sink.Sink, v secret.Credential) bool {
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
		if v := r.value(i).Token.Reveal(); strings.Contains(text, v) {
			t.Fatalf("%s contains secret #%d: %q", what, i, strings.ReplaceAll(text, v, "<SECRET>"))
		}
	}
}

func (r *runner) identity(t *testing.T, s sink.Sink) {
	id, desc := s.ID(), s.Describe()
	if id == "" || desc == "" {
		t.Fatalf("ID %q and Describe %q must not be empty", id, desc)
	}
	r.put(t, s, r.value(0))
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
		v := r.value(i)
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
	v := r.value(0)
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
	r.put(t, s, r.value(0))
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.Put(context.Background(), r.value(i+1)) })
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
			match = match || r.holds(got, r.value(i+1))
		}
		if !match {
			t.Fatalf("after %d concurrent Puts the sink holds %q %s, which none of them wrote", n, got.Username, got.Token.Hint())
		}
	}
	// The sink still works afterwards.
	v := r.value(n + 1)
	r.put(t, s, v)
	r.mustHold(t, s, v, "after the concurrent Puts")
}

func (r *runner) failedPut(t *testing.T, s sink.Sink) {
	prev, next := r.value(0), r.value(1)
	r.put(t, s, prev)
	restore := r.opts.BreakNextPut(t, s)
	changed, err := s.Put(context.Background(), next)
	restore()
	r.refused(t, s, prev, changed, err, "failed", "Put succeeded although BreakNextPut broke the sink")
	if !r.put(t, s, next) {
		t.Fatal("Put after recovery reported changed=false")
	}
	r.mustHold(t, s, next, "after recovery")
}

func (r *runner) cancelled(t *testing.T, s sink.Sink) {
	prev := r.value(0)
	r.put(t, s, prev)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, r.value(1)); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	} else {
		r.noSecret(t, "the error of a cancelled Put", err.Error(), 1)
	}
	r.mustHold(t, s, prev, "after a cancelled Put")
}

// usernameChange: a new username with the same token is a change, delivered.
func (r *runner) usernameChange(t *testing.T, s sink.Sink) {
	v := r.value(0)
	r.put(t, s, v)
	v.Username = "renamed-deploy-user"
	if !r.put(t, s, v) && r.opts.Comparable {
		t.Fatal("Put of a new username with the same token reported changed=false")
	}
	r.mustHold(t, s, v, "after a Put that changed only the username")
}

// noUsername: a sink configured to deliver a username refuses a credential
// without one, with an error that names the sink, and keeps what it held.
func (r *runner) noUsername(t *testing.T, s sink.Sink) {
	prev := r.value(0)
	r.put(t, s, prev)
	changed, err := s.Put(context.Background(), secret.TokenOnly(r.opts.Value(1)))
	r.refused(t, s, prev, changed, err, "refused", "a sink configured to deliver a username accepted a token without one")
}

// refused checks a Put that must fail (how: "failed", "refused"): an error
// that names the sink and holds no secret, changed=false, and prev still held.
func (r *runner) refused(t *testing.T, s sink.Sink, prev secret.Credential, changed bool, err error, how, ifNot string) {
	t.Helper()
	if err == nil {
		t.Fatal(ifNot)
	}
	if changed {
		t.Errorf("%s Put reported changed=true", how)
	}
	r.noSecret(t, "the error of a "+how+" Put", err.Error(), 1)
	if !strings.HasPrefix(err.Error(), "sink ") {
		t.Errorf("error %q does not start with the sink's name (\"sink <kind>: …\")", err)
	}
	r.mustHold(t, s, prev, "after a "+how+" Put")
}

// defaultUsername: a sink that writes a default username next to a token
// without one does so.
func (r *runner) defaultUsername(t *testing.T, s sink.Sink) {
	r.put(t, s, r.value(0))
	v := secret.TokenOnly(r.opts.Value(1))
	if !r.put(t, s, v) {
		t.Fatal("Put of a new token without a username reported changed=false")
	}
	v.Username = r.opts.DefaultUsername
	r.mustHold(t, s, v, "after a Put without a username")
}
