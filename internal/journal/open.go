package journal

import (
	"context"
	"errors"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Open opens (creating and migrating when needed) the journal named by dsn:
// "sqlite:///abs/path.db", "sqlite://relative.db" or a plain path for the
// embedded SQLite database, or "postgres://…" (also "postgresql://…") for a
// PostgreSQL database that several daemons share. The PostgreSQL password
// comes from PGPASSWORD or ~/.pgpass, never from the dsn.
func Open(ctx context.Context, dsn string, sealer secret.Sealer, clk clock.Clock) (Store, error) {
	if sealer == nil {
		return nil, errors.New("open journal: no sealer for secrets at rest")
	}
	if clk == nil {
		return nil, errors.New("open journal: no clock")
	}
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn, sealer, clk)
	}
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	return openSQLite(ctx, path, sealer, clk)
}

// IsPostgres reports whether dsn names a PostgreSQL journal. Several
// daemons may share one: one leads (holds the lock), the others stand by.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
