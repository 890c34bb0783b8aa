package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

func (s *sqliteStore) Create(ctx context.Context, r *Rotation) error {
	if r.Ref == "" {
		return errors.New("journal create: rotation without ref")
	}
	now := s.clk.Now()
	prepareCreate(r, now)
	args, err := encodeRotation(s.sealer, r)
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
	undo := prepareUpdate(r, now)
	args, err := encodeRotation(s.sealer, r)
	if err != nil {
		undo()
		return fmt.Errorf("journal update %s: %w", r.ID, err)
	}
	// encodeRotation begins with id; UPDATE wants it last.
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
		undo()
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

func (s *sqliteStore) query(ctx context.Context, withSecret bool, q string, args ...any) ([]*Rotation, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Rotation
	for rows.Next() {
		r, err := scanRotation(rows.Scan, s.sealer, withSecret)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
