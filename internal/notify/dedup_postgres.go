package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresDedup is a DedupStore in a table of its own (notify_sent) in the
// journal's PostgreSQL database (and schema), shared by every daemon on that
// state: the daemon that takes over as leader does not announce again what
// the previous leader announced. It opens its own small pool; the journal's
// schema and migrations are untouched.
type PostgresDedup struct{ pool *pgxpool.Pool }

// OpenPostgresDedup connects to the database named by state
// ("postgres://…", the password from PGPASSWORD or ~/.pgpass) and creates
// the table when missing.
func OpenPostgresDedup(ctx context.Context, state string) (*PostgresDedup, error) {
	if !strings.HasPrefix(state, "postgres://") && !strings.HasPrefix(state, "postgresql://") {
		return nil, fmt.Errorf("notify dedup: state %s is not PostgreSQL", strings.SplitN(state, "://", 2)[0]+"://…")
	}
	cc, err := pgx.ParseConfig(state)
	if err != nil {
		return nil, fmt.Errorf("notify dedup: %w", err)
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = 15 * time.Second // an unreachable server must not hang serve
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("notify dedup: %w", err)
	}
	pc.ConnConfig, pc.MaxConns = cc, 2
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("notify dedup: %w", err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS notify_sent (
		key     TEXT PRIMARY KEY,
		sent_at BIGINT NOT NULL -- unix nanoseconds
	)`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("notify dedup: %w", err)
	}
	return &PostgresDedup{pool: pool}, nil
}

// Sent implements DedupStore.
func (s *PostgresDedup) Sent(ctx context.Context, key string) (bool, error) {
	var sent bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notify_sent WHERE key = $1)`, key).Scan(&sent); err != nil {
		return false, fmt.Errorf("notify dedup: %w", err)
	}
	return sent, nil
}

// MarkSent implements DedupStore.
func (s *PostgresDedup) MarkSent(ctx context.Context, key string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO notify_sent(key, sent_at) VALUES($1, $2)
		ON CONFLICT(key) DO UPDATE SET sent_at = excluded.sent_at`, key, at.UnixNano()); err != nil {
		return fmt.Errorf("notify dedup: %w", err)
	}
	return nil
}

// Close closes the pool.
func (s *PostgresDedup) Close() error {
	s.pool.Close()
	return nil
}
