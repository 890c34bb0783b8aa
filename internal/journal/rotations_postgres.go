package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

func (s *postgresStore) Create(ctx context.Context, r *Rotation) error {
	if r.Ref == "" {
		return errors.New("journal create: rotation without ref")
	}
	now := s.clk.Now()
	prepareCreate(r, now)
	args, err := encodeRotation(s.sealer, r)
	if err != nil {
		return fmt.Errorf("journal create %s: %w", r.ID, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rotations(`+rotationColumns+`) VALUES (`+placeholders(1, len(args))+`)`, args...); err != nil {
			switch uniqueViolation(err) {
			case "":
				return err
			case "rotations_one_unfinished":
				return fmt.Errorf("%s: %w", r.Ref, ErrInProgress)
			default:
				return fmt.Errorf("id %s exists already", r.ID)
			}
		}
		return insertPostgresEvent(ctx, tx, r.ID, now, r.Step, r.Reason)
	})
	if err != nil {
		return fmt.Errorf("journal create %s: %w", r.ID, err)
	}
	return nil
}

func (s *postgresStore) Update(ctx context.Context, r *Rotation, detail string) error {
	now := s.clk.Now()
	undo := prepareUpdate(r, now)
	args, err := encodeRotation(s.sealer, r)
	if err != nil {
		undo()
		return fmt.Errorf("journal update %s: %w", r.ID, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// $1 is the id; the other columns follow in rotationColumns order.
		tag, err := tx.Exec(ctx, `UPDATE rotations SET
			ref = $2, kind = $3, strategy = $4, resource_type = $5, resource_path = $6, token_name = $7,
			old_token_id = $8, new_token_id = $9, new_expires_at = $10, new_secret = $11, step = $12, delivered = $13,
			revoke_after = $14, reason = $15, error = $16, attempts = $17, started_at = $18, updated_at = $19, finished_at = $20
			WHERE id = $1`, args...)
		if err != nil {
			if uniqueViolation(err) != "" {
				return fmt.Errorf("%s: %w", r.Ref, ErrInProgress)
			}
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return insertPostgresEvent(ctx, tx, r.ID, now, r.Step, detail)
	})
	if err != nil {
		undo()
		return fmt.Errorf("journal update %s: %w", r.ID, err)
	}
	return nil
}

func (s *postgresStore) Get(ctx context.Context, id string) (*Rotation, error) {
	rs, err := s.query(ctx, true, `SELECT `+rotationColumns+` FROM rotations WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("journal get %s: %w", id, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("journal get %s: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

func (s *postgresStore) Unfinished(ctx context.Context) ([]*Rotation, error) {
	rs, err := s.query(ctx, true, `SELECT `+rotationColumns+` FROM rotations
		WHERE step NOT IN ('done', 'failed') ORDER BY started_at, seq`)
	if err != nil {
		return nil, fmt.Errorf("journal unfinished: %w", err)
	}
	return rs, nil
}

func (s *postgresStore) List(ctx context.Context, f Filter) ([]*Rotation, error) {
	q := `SELECT ` + rotationColumns + ` FROM rotations WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Ref != "" {
		q += ` AND ref = ` + arg(f.Ref)
	}
	if !f.Since.IsZero() {
		q += ` AND started_at >= ` + arg(f.Since.UnixNano())
	}
	q += ` ORDER BY started_at DESC, seq DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + arg(f.Limit)
	}
	rs, err := s.query(ctx, false, q, args...)
	if err != nil {
		return nil, fmt.Errorf("journal list: %w", err)
	}
	return rs, nil
}

func (s *postgresStore) Events(ctx context.Context, rotationID string) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT rotation_id, at, step, detail FROM events WHERE rotation_id = $1 ORDER BY seq`, rotationID)
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

func (s *postgresStore) query(ctx context.Context, withSecret bool, q string, args ...any) ([]*Rotation, error) {
	rows, err := s.pool.Query(ctx, q, args...)
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

func insertPostgresEvent(ctx context.Context, tx pgx.Tx, id string, at time.Time, step Step, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO events(rotation_id, at, step, detail) VALUES ($1, $2, $3, $4)`,
		id, at.UnixNano(), string(step), detail)
	return err
}

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	b := make([]byte, 0, 4*n)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(from+i), 10)
	}
	return string(b)
}
