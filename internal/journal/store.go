package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// sqlStore is the Store on a database/sql handle: the embedded SQLite file
// or a PostgreSQL database (through pgx's database/sql driver). What differs
// between the two lives in its dialect.
type sqlStore struct {
	db     *sql.DB
	d      dialect
	sealer secret.Sealer
	clk    clock.Clock
}

// dialect is what SQLite and PostgreSQL do differently.
type dialect struct {
	migrations []string
	// migrationLock, when set, runs first in the migration transaction, so
	// that daemons starting together migrate once.
	migrationLock string
	// order breaks ties between rotations started in the same nanosecond:
	// insertion order ("rowid" in SQLite, "seq" in PostgreSQL).
	order string
	// writeLock, when set, runs first in every write transaction of a
	// rotation and holds until the commit: the events' seq then
	// grows in commit order, which Written's mark relies on. (SQLite has
	// one writer at a time anyway.)
	writeLock string
	// rebind turns the ? placeholders into the database's own.
	rebind func(string) string
	// unique reports whether err is a unique violation, and whether it is
	// the index that allows one unfinished rotation per ref.
	unique func(err error) (violation, unfinishedRef bool)
}

func (s *sqlStore) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, s.d.rebind(q), args...)
}

func (s *sqlStore) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.migrationLock != "" {
			if _, err := s.exec(ctx, tx, s.d.migrationLock); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
		if _, err := s.exec(ctx, tx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if current > len(s.d.migrations) {
			return fmt.Errorf("schema version %d is newer than this tokenwarden knows (%d): upgrade tokenwarden", current, len(s.d.migrations))
		}
		for v := current + 1; v <= len(s.d.migrations); v++ {
			if _, err := s.exec(ctx, tx, s.d.migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, s.clk.Now().UnixNano()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// inTx runs fn in a write transaction and commits it. The commit is durable
// when Commit returns: SQLite runs with synchronous=FULL, PostgreSQL with its
// default synchronous_commit.
func (s *sqlStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
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

// writeTx is inTx for a rotation's write: under the dialect's writeLock.
func (s *sqlStore) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.writeLock != "" {
			if _, err := s.exec(ctx, tx, s.d.writeLock); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

func (s *sqlStore) Close() error { return s.db.Close() }

func (s *sqlStore) Create(ctx context.Context, r *Rotation) error {
	if r.Ref == "" {
		return errors.New("journal create: rotation without ref")
	}
	now := s.clk.Now()
	prepareCreate(r, now)
	args, err := encodeRotation(s.sealer, r)
	if err != nil {
		return fmt.Errorf("journal create %s: %w", r.ID, err)
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO rotations(`+rotationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			switch violation, unfinishedRef := s.d.unique(err); {
			case unfinishedRef:
				return fmt.Errorf("%s: %w", r.Ref, ErrInProgress)
			case violation:
				return fmt.Errorf("id %s exists already", r.ID)
			}
			return err
		}
		return s.insertEvent(ctx, tx, r.ID, now, r.Step, r.Reason)
	})
	if err != nil {
		return fmt.Errorf("journal create %s: %w", r.ID, err)
	}
	return nil
}

func (s *sqlStore) Update(ctx context.Context, r *Rotation, detail string) error {
	now := s.clk.Now()
	undo := prepareUpdate(r, now)
	args, err := encodeRotation(s.sealer, r)
	if err != nil {
		undo()
		return fmt.Errorf("journal update %s: %w", r.ID, err)
	}
	// encodeRotation begins with id; UPDATE wants it last.
	args = append(args[1:], args[0])
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE rotations SET
			ref = ?, kind = ?, strategy = ?, resource_type = ?, resource_path = ?, token_name = ?,
			old_token_id = ?, new_token_id = ?, new_expires_at = ?, new_secret = ?, step = ?, delivered = ?,
			revoke_after = ?, reason = ?, error = ?, attempts = ?, started_at = ?, updated_at = ?, finished_at = ?,
			new_username = ?
			WHERE id = ?`, args...)
		if err != nil {
			if violation, _ := s.d.unique(err); violation {
				return fmt.Errorf("%s: %w", r.Ref, ErrInProgress)
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return s.insertEvent(ctx, tx, r.ID, now, r.Step, detail)
	})
	if err != nil {
		undo()
		return fmt.Errorf("journal update %s: %w", r.ID, err)
	}
	return nil
}

func (s *sqlStore) Get(ctx context.Context, id string) (*Rotation, error) {
	rs, err := s.query(ctx, true, `SELECT `+rotationColumns+` FROM rotations WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("journal get %s: %w", id, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("journal get %s: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

func (s *sqlStore) Unfinished(ctx context.Context) ([]*Rotation, error) {
	rs, err := s.query(ctx, true, `SELECT `+rotationColumns+` FROM rotations
		WHERE step NOT IN ('done', 'failed') ORDER BY started_at, `+s.d.order)
	if err != nil {
		return nil, fmt.Errorf("journal unfinished: %w", err)
	}
	return rs, nil
}

func (s *sqlStore) List(ctx context.Context, f Filter) ([]*Rotation, error) {
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
	q += ` ORDER BY started_at DESC, ` + s.d.order + ` DESC`
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

func (s *sqlStore) Events(ctx context.Context, rotationID string) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT rotation_id, at, step, detail FROM events WHERE rotation_id = ? ORDER BY seq`), rotationID)
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

func (s *sqlStore) NotificationSent(ctx context.Context, key string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM notify_sent WHERE key = ?`), key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal notification sent: %w", err)
	}
	return true, nil
}

func (s *sqlStore) MarkNotificationSent(ctx context.Context, key string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO notify_sent(key, sent_at) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET sent_at = excluded.sent_at`), key, at.UnixNano()); err != nil {
		return fmt.Errorf("journal mark notification sent: %w", err)
	}
	return nil
}

func (s *sqlStore) insertEvent(ctx context.Context, tx *sql.Tx, id string, at time.Time, step Step, detail string) error {
	_, err := s.exec(ctx, tx, `INSERT INTO events(rotation_id, at, step, detail) VALUES (?, ?, ?, ?)`,
		id, at.UnixNano(), string(step), detail)
	return err
}

// Written: the mark is the newest event's seq (every write inserts one).
func (s *sqlStore) Written(ctx context.Context, since int64) (int64, []string, error) {
	if since < 0 {
		var mark int64
		if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&mark); err != nil {
			return 0, nil, fmt.Errorf("journal written: %w", err)
		}
		return mark, nil, nil
	}
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT e.seq, r.ref FROM events e JOIN rotations r ON r.id = e.rotation_id
		WHERE e.seq > ? ORDER BY e.seq`), since)
	if err != nil {
		return 0, nil, fmt.Errorf("journal written: %w", err)
	}
	defer rows.Close()
	mark := since
	var refs []string
	for rows.Next() {
		var ref string
		if err := rows.Scan(&mark, &ref); err != nil {
			return 0, nil, fmt.Errorf("journal written: %w", err)
		}
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("journal written: %w", err)
	}
	return mark, refs, nil
}

func (s *sqlStore) query(ctx context.Context, withSecret bool, q string, args ...any) ([]*Rotation, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(q), args...)
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
