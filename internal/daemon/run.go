package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
)

// Run waits until the daemon leads (Deps.Leading), resumes unfinished
// rotations, scans, then rotates each managed token
// when it is due until ctx ends. A rotation in progress at shutdown gets
// Deps.ShutdownGrace to finish; otherwise it stays parked in the journal at
// its last committed step and the next start resumes it. Run returns nil on
// a clean shutdown.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.stopOnce.Do(func() { close(d.stopped) })
	if d.d.Leading != nil {
		select {
		case <-d.d.Leading:
		case <-ctx.Done():
			return nil
		}
	}
	d.d.Log.Info("daemon started", "tokens", len(d.Config().Tokens), "scan_interval", d.scanInterval().String())
	work, stopWork := d.workContext(ctx)
	defer stopWork()
	l := &loop{d: d, work: work}
	l.start(ctx)
	for ctx.Err() == nil {
		next := l.settle(ctx)
		if ctx.Err() != nil {
			break
		}
		wait := next.Sub(d.d.Clock.Now())
		d.d.Log.Debug("sleeping", "until", next.UTC().Format(time.RFC3339), "for", wait.String())
		t := d.d.Clock.NewTimer(wait)
		if d.d.OnSleep != nil {
			d.d.OnSleep(next)
		}
		select {
		case <-ctx.Done():
			t.Stop()
		case <-d.wake:
			t.Stop()
		case req := <-d.requests:
			t.Stop()
			out, err := d.rotateNow(ctx, work, req.ref)
			req.reply <- rotateReply{out, err}
			if err == nil {
				l.scanned(ctx)
			}
		case <-t.C():
			l.wakeUp(ctx)
		}
	}
	d.d.Log.Info("daemon stopped")
	return nil
}

// loop is the state of Run's loop between two passes: what Run and Steps
// share, so that a simulation stepping the daemon runs exactly Run's code.
type loop struct {
	d          *Daemon
	work       context.Context
	nextScan   time.Time
	managingAt time.Time
}

// start resumes unfinished rotations and scans, as Run does first.
func (l *loop) start(ctx context.Context) {
	l.d.resume(ctx, l.work)
	if ctx.Err() == nil {
		l.d.scan(ctx)
	}
	l.nextScan = l.d.d.Clock.Now().Add(l.d.scanInterval())
}

// scanned scans now and schedules the next scan.
func (l *loop) scanned(ctx context.Context) {
	l.d.scan(ctx)
	l.nextScan = l.d.d.Clock.Now().Add(l.d.scanInterval())
}

// settle runs every cycle that has work (scanning after each) and returns
// when the daemon next has something to do.
func (l *loop) settle(ctx context.Context) time.Time {
	d := l.d
	for {
		next, worked := d.cycle(ctx, l.work)
		if ctx.Err() != nil {
			return next
		}
		if worked {
			// The instance changed: show it, then plan again at once.
			l.scanned(ctx)
			continue
		}
		if next.IsZero() || l.nextScan.Before(next) {
			next = l.nextScan
		}
		l.managingAt = d.managingWake()
		if !l.managingAt.IsZero() && l.managingAt.Before(next) {
			next = l.managingAt
		}
		d.mu.Lock()
		d.state.NextWake = next
		d.mu.Unlock()
		return next
	}
}

// wakeUp is the timer firing: scan when a scan is due, else check the
// managing token when that is due.
func (l *loop) wakeUp(ctx context.Context) {
	now := l.d.d.Clock.Now()
	if !now.Before(l.nextScan) {
		l.scanned(ctx)
	} else if !l.managingAt.IsZero() && !now.Before(l.managingAt) {
		l.d.checkManaging(ctx, l.d.Config())
	}
}

// Steps drives the daemon by hand, for deterministic simulations
// (internal/soak): the same passes Run makes, without its timer, its wake
// channel or its goroutine. Call Start once, then Next to run what is due
// and learn when the daemon would wake up; move the clock there (or do
// something else first: Reload, a crash) and call Wake then Next again.
// Every rotation runs under ctx: cancelling it stops the daemon where it
// is, as a crash would. Do not use Run and Steps on one Daemon.
type Steps struct{ l loop }

// Steps returns a driver of d's loop.
func (d *Daemon) Steps() *Steps { return &Steps{l: loop{d: d}} }

// Start resumes unfinished rotations and scans, as Run does first.
func (s *Steps) Start(ctx context.Context) {
	s.l.work = ctx
	s.l.start(ctx)
}

// Next runs everything due now and returns when the daemon would wake up.
func (s *Steps) Next(ctx context.Context) time.Time {
	s.l.work = ctx
	return s.l.settle(ctx)
}

// Wake is the daemon's timer firing at the clock's now: a due scan or
// managing token check runs. Call Next after it.
func (s *Steps) Wake(ctx context.Context) {
	s.l.work = ctx
	s.l.wakeUp(ctx)
}

// workContext is the context rotations run under: it outlives ctx by the
// shutdown grace, so that a rotation in progress can reach its end.
func (d *Daemon) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		// Wall-clock on purpose: this bounds real I/O during shutdown.
		time.AfterFunc(d.d.ShutdownGrace, cancel)
	})
	if d.d.Fence != nil {
		go func() {
			select {
			case <-d.d.Fence:
				cancel()
			case <-work.Done():
			}
		}()
	}
	return work, func() { stop(); cancel() }
}

func (d *Daemon) scanInterval() time.Duration {
	if iv := d.Config().Serve.ScanInterval; iv > 0 {
		return iv
	}
	return config.DefaultScanInterval
}

// resume carries on every unfinished rotation (as after a crash).
func (d *Daemon) resume(ctx, work context.Context) bool {
	outs, err := d.d.Engine.Resume(work, d.Config())
	if err != nil {
		d.d.Log.Error("resume unfinished rotations", "err", err)
		return false
	}
	for _, o := range outs {
		d.record(ctx, o)
	}
	return len(outs) > 0
}

// cycle plans every managed token, runs what is due, and returns when the
// next one is due. worked reports whether anything was rotated or resumed.
func (d *Daemon) cycle(ctx, work context.Context) (next time.Time, worked bool) {
	cfg := d.Config()
	now := d.d.Clock.Now()
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	p, err := d.plan(work, cfg)
	if err != nil {
		d.d.Log.Error("plan", "err", err)
		earliest(now.Add(d.d.RetryAfter))
		return next, false
	}
	d.setPlan(p)

	var due []engine.Item
	resumeDue := false
	for _, it := range p.Items {
		if nb, ok := d.notBefore(it.Ref); ok && now.Before(nb) {
			earliest(nb)
			continue
		}
		switch it.Action {
		case engine.ActionNone:
			if it.RenewAt != nil {
				earliest(*it.RenewAt)
			}
		case engine.ActionError:
			d.d.Log.Warn("cannot plan token", "token", it.Ref, "reason", it.Reason)
			d.setBackoff(it.Ref, now.Add(d.d.RetryAfter))
			earliest(now.Add(d.d.RetryAfter))
		case engine.ActionResume:
			if it.RevokeAfter != nil && now.Before(*it.RevokeAfter) {
				earliest(*it.RevokeAfter)
				continue
			}
			resumeDue = true
		case engine.ActionCreate, engine.ActionRotate, engine.ActionAdopt, engine.ActionDeliver:
			due = append(due, it)
		}
	}
	if resumeDue && ctx.Err() == nil {
		worked = d.resume(ctx, work) || worked
	}
	if len(due) > 0 && ctx.Err() == nil {
		// Different tokens side by side (the engine's concurrency); a token
		// not started when ctx ends waits for the next start.
		outs := d.d.Engine.RunAll(work, due, func(it engine.Item) bool {
			if ctx.Err() != nil {
				return false
			}
			d.d.Log.Info("rotating", "token", it.Ref, "strategy", it.Strategy, "reason", it.Reason)
			return true
		}, func(o engine.Outcome) { d.record(ctx, o) })
		worked = worked || len(outs) > 0
	}
	return next, worked
}

// plan plans cfg's tokens: in full at the first pass, after a reload and
// once per scan interval; in between only the tokens that are due or whose
// journal moved (engine.Replan), so that a wake-up with hundreds of
// tokens, of which one is due, reads little of GitLab, the sinks and the
// journal. Run's loop alone calls it.
func (d *Daemon) plan(ctx context.Context, cfg *config.Config) (*engine.Plan, error) {
	now := d.d.Clock.Now()
	var p *engine.Plan
	var err error
	if d.last != nil && d.lastCfg == cfg && now.Before(d.fullAt.Add(d.scanInterval())) {
		p, err = d.d.Engine.Replan(ctx, cfg, d.last)
	} else if p, err = d.d.Engine.Plan(ctx, cfg); err == nil {
		d.fullAt = now
	}
	if err != nil {
		return nil, err
	}
	d.last, d.lastCfg = p, cfg
	return p, nil
}

// rotateNow rotates the configured token ref at once ("rotate now"). An
// unfinished rotation of ref is finished first (see engine.RotateNow).
func (d *Daemon) rotateNow(ctx, work context.Context, ref string) (engine.Outcome, error) {
	cfg := d.Config()
	if !slices.ContainsFunc(cfg.Tokens, func(t config.Token) bool { return t.Ref() == ref }) {
		return engine.Outcome{}, fmt.Errorf("%s: %w", ref, ErrUnknownToken)
	}
	d.d.Log.Info("rotating on request", "token", ref)
	outs, err := d.d.Engine.RotateNow(work, cfg, ref, engine.RotateOptions{Reason: "rotate now (dashboard)"})
	var last engine.Outcome
	for _, o := range outs {
		d.record(ctx, o)
		last = o
	}
	if p, perr := d.plan(work, cfg); perr == nil {
		d.setPlan(p)
	}
	if err != nil {
		return last, err
	}
	if last.Status == engine.StatusFailed {
		return last, fmt.Errorf("rotate %s: %w", ref, last.Err)
	}
	return last, nil
}

// record logs an outcome, counts it, backs the token off when it did not
// get through, and notifies.
func (d *Daemon) record(ctx context.Context, o engine.Outcome) {
	r := o.Rotation
	if r == nil {
		return
	}
	attrs := []any{"token", r.Ref, "rotation", r.ID, "strategy", r.Strategy, "status", string(o.Status), "step", string(r.Step)}
	switch o.Status {
	case engine.StatusDone, engine.StatusWaiting:
		d.d.Log.Info("rotation", attrs...)
		d.mu.Lock()
		delete(d.backoff, r.Ref)
		delete(d.fails, r.Ref)
		d.mu.Unlock()
	case engine.StatusRetry:
		if errors.Is(o.Err, engine.ErrCrash) || ctx.Err() != nil {
			d.d.Log.Warn("rotation parked in the journal", append(attrs, "err", o.Err)...)
		} else {
			d.d.Log.Warn("rotation stopped; retrying later", append(attrs, "err", o.Err, "retry_after", d.d.RetryAfter.String())...)
		}
		d.setBackoff(r.Ref, d.d.Clock.Now().Add(d.d.RetryAfter))
	case engine.StatusFailed:
		wait := d.failed(r.Ref)
		d.d.Log.Error("rotation failed", append(attrs, "err", o.Err, "retry_after", wait.String())...)
		d.setBackoff(r.Ref, d.d.Clock.Now().Add(wait))
	}
	d.countRotation(o)
	d.notifyOutcome(ctx, o)
}

func (d *Daemon) notBefore(ref string) (time.Time, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.backoff[ref]
	return t, ok
}

// failed counts one more failed rotation of ref in a row and returns how
// long to wait before the next: RetryAfter, doubled for each earlier
// failure, at most MaxRetryAfter.
func (d *Daemon) failed(ref string) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fails[ref]++
	wait := d.d.RetryAfter
	for i := 1; i < d.fails[ref] && wait < MaxRetryAfter; i++ {
		wait *= 2
	}
	return max(d.d.RetryAfter, min(wait, MaxRetryAfter))
}

func (d *Daemon) setBackoff(ref string, t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.backoff[ref] = t
}

// setPlan records the plan in the state for the dashboard.
func (d *Daemon) setPlan(p *engine.Plan) {
	ms := make([]Managed, 0, len(p.Items))
	for _, it := range p.Items {
		ms = append(ms, Managed{
			Ref: it.Ref, ResourceType: it.Token.ResourceType(), ResourcePath: it.Token.ResourcePath(), Name: it.Token.Name,
			Strategy: it.Strategy, Action: it.Action, Reason: it.Reason, Warning: it.Warning, Note: it.Note, Current: it.Current, RenewAt: it.RenewAt, Deliver: it.Deliver,
		})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state.Managed, d.state.PlannedAt = ms, p.At
	// Copy: a State handed out earlier shares the old slice.
	toks := slices.Clone(d.state.Tokens)
	d.attachRenewals(toks)
	d.state.Tokens = toks
}

// managingWake is the next instant the managing token crosses a
// notification threshold (its expiry notices) or expires, zero
// when none is ahead: the daemon checks it then, so that the warning, the
// banner and /readyz do not wait for the next scan.
func (d *Daemon) managingWake() time.Time {
	st := d.State().Managing
	if st == nil || st.Token.ExpiresAt == nil || st.Level == managing.LevelExpired {
		return time.Time{}
	}
	now := d.d.Clock.Now()
	var next time.Time
	for _, th := range append([]time.Duration{0}, managing.ThresholdsOf(d.Config().GitLab).ExpiryNotices()...) {
		at := st.Token.ExpiresAt.Add(-th)
		if at.After(now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	if d.d.Renewer != nil {
		if at, ok := managing.RenewAt(d.Config(), *st); ok && at.After(now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}
