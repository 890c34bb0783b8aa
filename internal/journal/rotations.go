package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

const rotationColumns = `id, ref, kind, strategy, resource_type, resource_path, token_name,
	old_token_id, new_token_id, new_expires_at, new_secret, step, delivered,
	revoke_after, reason, error, attempts, started_at, updated_at, finished_at`

func (s *sqliteStore) Create(ctx context.Context, r *Rotation) error {
	if r.Ref == "" {
		return errors.New("journal create: rotation without ref")
	}
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Step == "" {
		r.Step = StepPlanned
	}
	now := s.clk.Now()
	if r.StartedAt.IsZero() {
		r.StartedAt = now
	}
	r.UpdatedAt = now
	if r.Step.Final() && r.FinishedAt == nil {
		r.FinishedAt = &now
	}
	args, err := s.rowArgs(r)
	if err != nil {
		return fmt.Errorf("journal create %s: %w", r.ID, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rotations(`+rotationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			if isUniqueViolation(err) {
				if strings.Contains(err.Error(), "rotations.ref") {
					return fmt.Errorf("%s: %w", r.Ref, ErrInProgress)
				}
				return fmt.Errorf("id %s exists already", r.ID)
			}
			return err
		}
		return insertEvent(ctx, tx, r.ID, now, r.Step, r.Reason)
	})
	if err != nil {
		return fmt.Errorf("journal create %s: %w", r.ID, err)
	}
	return nil
}

func (s *sqliteStore) Update(ctx context.Context, r *Rotation, detail string) error {
	now := s.clk.Now()
	prevUpdated, prevFinished := r.UpdatedAt, r.FinishedAt
	r.UpdatedAt = now
	if r.Step.Final() && r.FinishedAt == nil {
		r.FinishedAt = &now
	}
	args, err := s.rowArgs(r)
	if err != nil {
		r.UpdatedAt, r.FinishedAt = prevUpdated, prevFinished
		return fmt.Errorf("journal update %s: %w", r.ID, err)
	}
	// rowArgs begins with id; UPDATE wants it last.
	args = append(args[1:], args[0])
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rotations SET
			ref = ?, kind = ?, strategy = ?, resource_type = ?, resource_path = ?, token_name = ?,
			old_token_id = ?, new_token_id = ?, new_expires_at = ?, new_secret = ?, step = ?, delivered = ?,
			revoke_after = ?, reason = ?, error = ?, attempts = ?, started_at = ?, updated_at = ?, finished_at = ?
			WHERE id = ?`, args...)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%s: %w", r.Ref, ErrInProgress)
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return insertEvent(ctx, tx, r.ID, now, r.Step, detail)
	})
	if err != nil {
		r.UpdatedAt, r.FinishedAt = prevUpdated, prevFinished
		return fmt.Errorf("journal update %s: %w", r.ID, err)
	}
	return nil
}

func (s *sqliteStore) Get(ctx context.Context, id string) (*Rotation, error) {
	rs, err := s.query(ctx, true, `SELECT `+rotationColumns+` FROM rotations WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("journal get %s: %w", id, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("journal get %s: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

func (s *sqliteStore) Unfinished(ctx context.Context) ([]*Rotation, error) {
	rs, err := s.query(ctx, true, `SELECT `+rotationColumns+` FROM rotations
		WHERE step NOT IN ('done', 'failed') ORDER BY started_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("journal unfinished: %w", err)
	}
	return rs, nil
}

func (s *sqliteStore) List(ctx context.Context, f Filter) ([]*Rotation, error) {
	q := `SELECT ` + rotationColumns + ` FROM rotations WHERE 1=1`
	var args []any
	if f.Ref != "" {
		q += ` AND ref = ?`
		args = append(args, f.Ref)
	}
	if !f.Since.IsZero() {
		q += ` AND started_at >= ?`
		args = append(args, f.Since.UnixNano())
	}
	q += ` ORDER BY started_at DESC, rowid DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rs, err := s.query(ctx, false, q, args...)
	if err != nil {
		return nil, fmt.Errorf("journal list: %w", err)
	}
	return rs, nil
}

func (s *sqliteStore) Events(ctx context.Context, rotationID string) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT rotation_id, at, step, detail FROM events WHERE rotation_id = ? ORDER BY seq`, rotationID)
	if err != nil {
		return nil, fmt.Errorf("journal events %s: %w", rotationID, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var step string
		if err := rows.Scan(&e.RotationID, &at, &step, &e.Detail); err != nil {
			return nil, fmt.Errorf("journal events %s: %w", rotationID, err)
		}
		e.At, e.Step = fromNanos(at), Step(step)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal events %s: %w", rotationID, err)
	}
	return out, nil
}

// inTx runs fn in a write transaction and commits it; with
// synchronous=FULL the commit is on disk when Commit returns.
func (s *sqliteStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func insertEvent(ctx context.Context, tx *sql.Tx, id string, at time.Time, step Step, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events(rotation_id, at, step, detail) VALUES (?, ?, ?, ?)`,
		id, at.UnixNano(), string(step), detail)
	return err
}

// rowArgs returns r's columns in rotationColumns order, with the secret
// sealed.
func (s *sqliteStore) rowArgs(r *Rotation) ([]any, error) {
	var sealed []byte
	if !r.NewSecret.IsZero() {
		var err error
		if sealed, err = s.sealer.Seal(r.NewSecret); err != nil {
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
		r.StartedAt.UnixNano(), r.UpdatedAt.UnixNano(), nanosPtr(r.FinishedAt),
	}, nil
}

func (s *sqliteStore) query(ctx context.Context, withSecret bool, q string, args ...any) ([]*Rotation, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Rotation
	for rows.Next() {
		var (
			r                                 Rotation
			step, delivered                   string
			newExpires, revokeAfter, finished sql.NullInt64
			started, updated                  int64
			sealed                            []byte
		)
		if err := rows.Scan(&r.ID, &r.Ref, &r.Kind, &r.Strategy, &r.ResourceType, &r.ResourcePath, &r.TokenName,
			&r.OldTokenID, &r.NewTokenID, &newExpires, &sealed, &step, &delivered,
			&revokeAfter, &r.Reason, &r.Error, &r.Attempts, &started, &updated, &finished); err != nil {
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
			v, err := s.sealer.Open(sealed)
			if err != nil {
				return nil, fmt.Errorf("rotation %s: new secret: %w (is this the key that wrote the state?)", r.ID, err)
			}
			r.NewSecret = v
		}
		out = append(out, &r)
	}
	return out, rows.Err()
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

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
