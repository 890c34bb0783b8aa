package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // driver "sqlite"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// sqliteStore is the embedded Store.
type sqliteStore struct {
	db     *sql.DB
	path   string
	sealer secret.Sealer
	clk    clock.Clock
}

func sqlitePath(dsn string) (string, error) {
	switch {
	case IsPostgres(dsn):
		return "", fmt.Errorf("state is PostgreSQL, not a SQLite path: %w", ErrUnsupported)
	case strings.HasPrefix(dsn, "sqlite://"):
		dsn = strings.TrimPrefix(dsn, "sqlite://")
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return "", fmt.Errorf("open journal: unknown state scheme %q (use sqlite://PATH or postgres://HOST/DB): %w", scheme, ErrUnsupported)
	}
	if dsn == "" {
		return "", errors.New("open journal: empty database path")
	}
	if strings.ContainsAny(dsn, "?#") {
		return "", fmt.Errorf("open journal: database path %q must not contain ? or #", dsn)
	}
	return dsn, nil
}

func openSQLite(ctx context.Context, path string, sealer secret.Sealer, clk clock.Clock) (*sqliteStore, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	// Every connection: wait for other writers instead of failing, WAL
	// with fsync on every commit, foreign keys on; transactions take the
	// write lock up front so that two writers never deadlock on upgrade.
	q := "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", "file:"+path+q)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	s := &sqliteStore{db: db, path: path, sealer: sealer, clk: clk}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return s, nil
}

// createPrivate creates the database file with mode 0600 (and its directory
// with 0700) before SQLite does, so that it, and the -wal and -shm files that
// SQLite creates with the same mode, are private.
func createPrivate(path string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func (s *sqliteStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this tokenwarden knows (%d): upgrade tokenwarden", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, s.clk.Now().UnixNano()); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func (s *sqliteStore) Close() error { return s.db.Close() }
