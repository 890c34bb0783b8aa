package journal

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Both backends store a rotation in the same columns, in this order: times
// as unix nanoseconds (PostgreSQL's timestamps keep only microseconds), the
// delivered sink IDs as a JSON array, the new secret sealed.
const rotationColumns = `id, ref, kind, strategy, resource_type, resource_path, token_name,
	old_token_id, new_token_id, new_expires_at, new_secret, step, delivered,
	revoke_after, reason, error, attempts, started_at, updated_at, finished_at, new_username`

// prepareCreate fills what Create defaults: the ID, the step, the start
// time, and the finish time of a rotation created already final.
func prepareCreate(r *Rotation, now time.Time) {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Step == "" {
		r.Step = StepPlanned
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = now
	}
	r.UpdatedAt = now
	if r.Step.Final() && r.FinishedAt == nil {
		r.FinishedAt = &now
	}
}

// prepareUpdate stamps r for Update and returns the func that undoes it when
// the update is not committed.
func prepareUpdate(r *Rotation, now time.Time) (undo func()) {
	prevUpdated, prevFinished := r.UpdatedAt, r.FinishedAt
	r.UpdatedAt = now
	if r.Step.Final() && r.FinishedAt == nil {
		r.FinishedAt = &now
	}
	return func() { r.UpdatedAt, r.FinishedAt = prevUpdated, prevFinished }
}

// encodeRotation returns r's columns in rotationColumns order, with the
// secret sealed.
func encodeRotation(sealer secret.Sealer, r *Rotation) ([]any, error) {
	var sealed []byte
	if !r.NewSecret.IsZero() {
		var err error
		if sealed, err = sealer.Seal(r.NewSecret); err != nil {
			return nil, err
		}
	}
	delivered := r.Delivered
	if delivered == nil {
		delivered = []string{}
	}
	dj, err := json.Marshal(delivered)
	if err != nil {
		return nil, err
	}
	return []any{
		r.ID, r.Ref, r.Kind, r.Strategy, r.ResourceType, r.ResourcePath, r.TokenName,
		r.OldTokenID, r.NewTokenID, nanosPtr(r.NewExpiresAt), sealed, string(r.Step), string(dj),
		nanosPtr(r.RevokeAfter), r.Reason, r.Error, r.Attempts,
		r.StartedAt.UnixNano(), r.UpdatedAt.UnixNano(), nanosPtr(r.FinishedAt), r.NewUsername,
	}, nil
}

// scanRotation reads one row of rotationColumns with scan (sql.Rows.Scan or
// pgx.Rows.Scan), opening the secret when withSecret.
func scanRotation(scan func(dest ...any) error, sealer secret.Sealer, withSecret bool) (*Rotation, error) {
	var (
		r                                 Rotation
		step, delivered                   string
		newExpires, revokeAfter, finished sql.NullInt64
		started, updated                  int64
		sealed                            []byte
	)
	if err := scan(&r.ID, &r.Ref, &r.Kind, &r.Strategy, &r.ResourceType, &r.ResourcePath, &r.TokenName,
		&r.OldTokenID, &r.NewTokenID, &newExpires, &sealed, &step, &delivered,
		&revokeAfter, &r.Reason, &r.Error, &r.Attempts, &started, &updated, &finished, &r.NewUsername); err != nil {
		return nil, err
	}
	r.Step = Step(step)
	r.NewExpiresAt, r.RevokeAfter, r.FinishedAt = timePtr(newExpires), timePtr(revokeAfter), timePtr(finished)
	r.StartedAt, r.UpdatedAt = fromNanos(started), fromNanos(updated)
	if err := json.Unmarshal([]byte(delivered), &r.Delivered); err != nil {
		return nil, fmt.Errorf("rotation %s: delivered: %w", r.ID, err)
	}
	if len(r.Delivered) == 0 {
		r.Delivered = nil
	}
	if withSecret && len(sealed) > 0 {
		v, err := sealer.Open(sealed)
		if err != nil {
			return nil, fmt.Errorf("rotation %s: new secret: %w (is this the key that wrote the state?)", r.ID, err)
		}
		r.NewSecret = v
	}
	return &r, nil
}

func nanosPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
