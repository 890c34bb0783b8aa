package cleanup

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
)

// Outcome is what happened to one token.
type Outcome string

// Outcomes of a revocation.
const (
	Revoked     Outcome = "revoked"
	AlreadyGone Outcome = "already gone" // GitLab answered 404: someone else got there first
	Failed      Outcome = "failed"
)

// Result is one token's revocation.
type Result struct {
	Candidate
	Outcome Outcome
	Err     error // why it failed (Outcome Failed)
	// RecordErr is set when the outcome could not be written to the journal.
	RecordErr error
	// RotationID is the journal row that records it ("" without a journal).
	RotationID string
}

// Recorder keeps the record of each revocation; journal.Store is one.
type Recorder interface {
	Create(ctx context.Context, r *journal.Rotation) error
}

// Options tune Revoke.
type Options struct {
	// Concurrency is how many revocations are in flight at once (the
	// client's pacer keeps them within the rate limit); 0 means 8.
	Concurrency int
	// Journal, when set, records every revocation and failure.
	Journal Recorder
}

// DefaultConcurrency is Options.Concurrency when it is 0.
const DefaultConcurrency = 8

// StrategyRevoke is the journal strategy of a cleanup revocation.
const StrategyRevoke = "revoke"

// Revoke revokes every candidate through client, concurrently, and returns
// one result per candidate in the same order. A 404 counts as already gone.
// Each outcome is recorded once it is known: one final journal row per
// token (never an unfinished one, which apply would try to resume).
func Revoke(ctx context.Context, client *gitlab.Client, cands []Candidate, opts Options) []Result {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	results := make([]Result, len(cands))
	var eg errgroup.Group
	eg.SetLimit(n)
	for i, c := range cands {
		eg.Go(func() error {
			res := Result{Candidate: c, Outcome: Revoked}
			switch gone, err := revokeOne(ctx, client, c); {
			case err != nil:
				res.Outcome, res.Err = Failed, err
			case gone:
				res.Outcome = AlreadyGone
			}
			if opts.Journal != nil {
				// Record what happened even when the run is being
				// interrupted: the revocation itself cannot be undone.
				res.RotationID, res.RecordErr = record(context.WithoutCancel(ctx), opts.Journal, res)
			}
			results[i] = res
			return nil
		})
	}
	_ = eg.Wait()
	return results
}

// revokeOne revokes one token with the call for its kind.
func revokeOne(ctx context.Context, c *gitlab.Client, cand Candidate) (gone bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("not revoked: %w", err)
	}
	gone, err = c.RevokeCredential(ctx, cand.Token)
	if err != nil {
		return false, describe(err)
	}
	return gone, nil
}

// describe makes the error short: the result line names the token, so
// only what went wrong remains (GitLab's answer, or why there was none).
func describe(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted: %w", err)
	}
	if ge, ok := gitlab.AsError(err); ok {
		short := *ge
		short.Message = ge.Reason
		return &short
	}
	return err
}

// record writes res to the journal as a finished revocation row.
func record(ctx context.Context, j Recorder, res Result) (string, error) {
	t := res.Token
	r := &journal.Rotation{
		Ref: Ref(t), Kind: journal.KindRevocation, Strategy: StrategyRevoke,
		ResourceType: t.Resource.Type, ResourcePath: t.Resource.Path, TokenName: t.Name,
		OldTokenID: t.ID, Step: journal.StepDone, Reason: res.Reason,
	}
	if k := t.TokenKind(); !gitlab.AccessTokenKind(k) {
		r.Reason = k + ": " + r.Reason // the journal's ref does not say the kind
	}
	switch res.Outcome {
	case AlreadyGone:
		r.Reason += " (already gone)"
	case Failed:
		r.Step, r.Error = journal.StepFailed, res.Err.Error()
	}
	if err := j.Create(ctx, r); err != nil {
		return "", err
	}
	return r.ID, nil
}
