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

// sqliteDialect is the embedded SQLite database's.
var sqliteDialect = dialect{
	migrations: migrations,
	order:      "rowid",
	rebind:     func(q string) string { return q },
	unique: func(err error) (bool, bool) {
		if err == nil || !strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return false, false
		}
		return true, strings.Contains(err.Error(), "rotations.ref")
	},
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

func openSQLite(ctx context.Context, path string, sealer secret.Sealer, clk clock.Clock) (*sqlStore, error) {
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
	s := &sqlStore{db: db, d: sqliteDialect, sealer: sealer, clk: clk}
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
