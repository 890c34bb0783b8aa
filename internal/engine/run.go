package engine

import (
	"context"
	"errors"
	"fmt"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
)

// Status is how far a run of one rotation got.
type Status string

const (
	StatusDone    Status = "done"
	StatusWaiting Status = "waiting" // overlap: old token revoked after the grace period
	StatusRetry   Status = "retry"   // stopped by a transient error; resumed by the next apply/serve
	StatusFailed  Status = "failed"
)

// Outcome reports one rotation after a run.
type Outcome struct {
	Rotation *journal.Rotation
	Status   Status
	Err      error
}

// drive moves r through its remaining steps.
func (e *Engine) drive(ctx context.Context, r *journal.Rotation, tok config.Token) Outcome {
	err := e.steps(ctx, r, tok)
	switch {
	case err == nil:
		return Outcome{Rotation: r, Status: StatusDone}
	case errors.Is(err, ErrWaiting):
		return Outcome{Rotation: r, Status: StatusWaiting}
	case errors.Is(err, ErrCrash), ctx.Err() != nil:
		return Outcome{Rotation: r, Status: StatusRetry, Err: err}
	}
	if r.Step == journal.StepFailed {
		return Outcome{Rotation: r, Status: StatusFailed, Err: err}
	}
	// A transient error: remember it and let the next run resume. Before
	// anything is minted, a rotation that keeps failing is given up. After,
	// giving up would strand the consumers: some sinks would hold the new
	// secret, some the old one, and nothing would finish the job. So a
	// minted rotation stays open, and every run says so until it completes.
	// The same holds before "minted" where the mint itself kills the old
	// token (rotate, self, reset): an answer lost on the way may mean the
	// consumers' token is already dead, so only overlap is ever given up.
	r.Attempts++
	r.Error = err.Error()
	if r.Step == journal.StepPlanned && strategyOf(r) == config.StrategyOverlap && r.Attempts >= e.d.MaxAttempts {
		return e.fail(ctx, r, fmt.Errorf("gave up after %d attempts: %w", r.Attempts, err))
	}
	if uerr := e.d.Store.Update(ctx, r, "attempt failed: "+err.Error()); uerr != nil {
		err = errors.Join(err, uerr)
	}
	return Outcome{Rotation: r, Status: StatusRetry, Err: err}
}

func (e *Engine) fail(ctx context.Context, r *journal.Rotation, err error) Outcome {
	now := e.d.Clock.Now()
	r.Error = err.Error()
	r.FinishedAt = &now
	if cerr := e.commit(ctx, r, journal.StepFailed, err.Error()); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return Outcome{Rotation: r, Status: StatusFailed, Err: err}
}

func (e *Engine) steps(ctx context.Context, r *journal.Rotation, tok config.Token) error {
	for {
		var err error
		switch r.Step {
		case journal.StepPlanned:
			err = e.mint(ctx, r, tok)
		case journal.StepMinted, journal.StepDelivered:
			err = e.deliverAndVerify(ctx, r, tok)
		case journal.StepVerified:
			if e.undelivered(r, tok) {
				// The config gained a sink since delivery: serve it (and
				// verify again) before the old token goes.
				err = e.deliverAndVerify(ctx, r, tok)
			} else {
				err = e.retireOld(ctx, r, tok)
			}
		case journal.StepOldRevoked:
			now := e.d.Clock.Now()
			r.FinishedAt = &now
			r.Error = ""
			err = e.commit(ctx, r, journal.StepDone, "rotation complete")
		case journal.StepDone:
			return nil
		case journal.StepFailed:
			return errors.New(r.Error)
		default:
			return fmt.Errorf("rotation %s: unknown step %q", r.ID, r.Step)
		}
		if err != nil {
			return err
		}
	}
}

func (e *Engine) resource(ctx context.Context, c *gitlab.Client, tok config.Token) (gitlab.Resource, error) {
	return c.Resolve(ctx, tok.ResourceType(), tok.ResourcePath())
}
