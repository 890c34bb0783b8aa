package journal

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Fault is a crash hook for tests: it is called before and after each step
// is committed (after=false: the GitLab call or delivery is done but not
// yet journaled). An error stops the caller there, as a crash would.
type Fault func(r *Rotation, step Step, after bool) error

// Steps commits a rotation's steps for the engine and the managing-token
// renewer alike.
type Steps struct {
	Store Store
	Now   func() time.Time
	Fault Fault // nil: no hook
	Log   *slog.Logger
	Msg   string // the log message of each step
}

// At gives the fault hook its turn at step.
func (s Steps) At(r *Rotation, step Step, after bool) error {
	if s.Fault == nil {
		return nil
	}
	if err := s.Fault(r, step, after); err != nil {
		return fmt.Errorf("%w (at %s, after=%v)", err, step, after)
	}
	return nil
}

// Commit journals r at step with detail between the hook's two turns.
func (s Steps) Commit(ctx context.Context, r *Rotation, step Step, detail string) error {
	if err := s.At(r, step, false); err != nil {
		return err
	}
	r.Step = step
	r.UpdatedAt = s.Now()
	// The step has happened in GitLab or a sink: recording it must not be
	// cut short by Ctrl-C, or a minted secret exists nowhere but in memory.
	if err := s.Store.Update(context.WithoutCancel(ctx), r, detail); err != nil {
		return fmt.Errorf("journal %s: %w", r.ID, err)
	}
	s.Log.Info(s.Msg, "rotation", r.ID, "ref", r.Ref, "step", string(step), "detail", detail)
	return s.At(r, step, true)
}
