package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// SQLiteDedup is a DedupStore in a table of its own (notify_sent) in the
// journal's SQLite database, so that a restarted daemon does not announce
// the same expiring token again. It opens its own connection; the journal's
// schema and migrations are untouched.
type SQLiteDedup struct{ db *sql.DB }

// OpenSQLiteDedup opens the database named by state — config.Config.State,
// "sqlite:///abs/path.db" or a plain path — and creates the table when
// missing. Other state backends (postgres://…) return an error: use
// NewMemoryDedup for them.
func OpenSQLiteDedup(ctx context.Context, state string) (*SQLiteDedup, error) {
	path, ok := strings.CutPrefix(state, "sqlite://")
	if !ok && strings.Contains(state, "://") {
		return nil, fmt.Errorf("notify dedup: state %s is not SQLite", strings.SplitN(state, "://", 2)[0]+"://…")
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("notify dedup: invalid SQLite path %q", path)
	}
	// The same connection settings as the journal: wait for its writers
	// rather than fail, WAL, write lock taken up front.
	q := "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", "file:"+path+q)
	if err != nil {
		return nil, fmt.Errorf("notify dedup %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS notify_sent (
		key     TEXT PRIMARY KEY,
		sent_at INTEGER NOT NULL -- unix nanoseconds
	)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("notify dedup %s: %w", path, err)
	}
	return &SQLiteDedup{db: db}, nil
}

// Sent implements DedupStore.
func (s *SQLiteDedup) Sent(ctx context.Context, key string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM notify_sent WHERE key = ?`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("notify dedup: %w", err)
	}
	return true, nil
}

// MarkSent implements DedupStore.
func (s *SQLiteDedup) MarkSent(ctx context.Context, key string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO notify_sent(key, sent_at) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET sent_at = excluded.sent_at`, key, at.UnixNano()); err != nil {
		return fmt.Errorf("notify dedup: %w", err)
	}
	return nil
}

// Close closes the connection.
func (s *SQLiteDedup) Close() error { return s.db.Close() }
