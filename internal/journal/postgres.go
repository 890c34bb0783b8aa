package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// postgresStore is the shared Store: several daemons may open it, and the
// one that holds the lock (see TryLock) is the only one that rotates.
type postgresStore struct {
	pool   *pgxpool.Pool
	sealer secret.Sealer
	clk    clock.Clock
}

// defaultConnectTimeout bounds a connection attempt when the dsn (or
// PGCONNECT_TIMEOUT) sets none: an unreachable server must not hang a run.
const defaultConnectTimeout = 15 * time.Second

// migrationLockKey serialises the migrations of daemons that start at the
// same time (a transaction-level advisory lock, released on commit).
const migrationLockKey = 0x746f6b656e6d6967 // "tokenmig"

// postgresConfig parses dsn the way libpq does: the password comes from
// PGPASSWORD or ~/.pgpass, PGSSLMODE and friends apply.
func postgresConfig(dsn string) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = defaultConnectTimeout
	}
	return cc, nil
}

func openPostgres(ctx context.Context, dsn string, sealer secret.Sealer, clk clock.Clock) (*postgresStore, error) {
	cc, err := postgresConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	pc.ConnConfig = cc
	pc.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", redactedTarget(cc), err)
	}
	s := &postgresStore{pool: pool, sealer: sealer, clk: clk}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open journal %s: %w", redactedTarget(cc), err)
	}
	return s, nil
}

// redactedTarget names the database for errors without any credential.
func redactedTarget(cc *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}

func (s *postgresStore) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if current > len(postgresMigrations) {
			return fmt.Errorf("schema version %d is newer than this tokenwarden knows (%d): upgrade tokenwarden", current, len(postgresMigrations))
		}
		for v := current + 1; v <= len(postgresMigrations); v++ {
			if _, err := tx.Exec(ctx, postgresMigrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES ($1, $2)`, v, s.clk.Now().UnixNano()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// inTx runs fn in a transaction and commits it; PostgreSQL's commit is
// durable (synchronous_commit) when Commit returns.
func (s *postgresStore) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

func (s *postgresStore) Close() error {
	s.pool.Close()
	return nil
}

// uniqueViolation returns the name of the unique index or constraint that
// refused a row (SQLSTATE 23505), or "" for any other error.
func uniqueViolation(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName
	}
	return ""
}
