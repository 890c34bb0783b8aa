package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// postgresDialect is PostgreSQL's: the shared journal that several daemons
// may open, of which the one holding the lock (see TryLock) rotates.
var postgresDialect = dialect{
	migrations:    postgresMigrations,
	migrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", int64(migrationLockKey)),
	writeLock:     fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", int64(writeLockKey)),
	order:         "seq",
	rebind:        dollarPlaceholders,
	unique: func(err error) (bool, bool) {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23505" {
			return false, false
		}
		return true, pe.ConstraintName == "rotations_one_unfinished"
	},
}

// defaultConnectTimeout bounds a connection attempt when the dsn (or
// PGCONNECT_TIMEOUT) sets none: an unreachable server must not hang a run.
const defaultConnectTimeout = 15 * time.Second

// migrationLockKey serialises the migrations of daemons that start at the
// same time (a transaction-level advisory lock, released on commit).
const migrationLockKey = 0x746f6b656e6d6967 // "tokenmig"

// writeLockKey serialises the journal's writes from the event insert to the
// commit, so that events.seq grows in commit order (see Store.Written).
const writeLockKey = 0x746f6b656e777269 // "tokenwri"

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

func openPostgres(ctx context.Context, dsn string, sealer secret.Sealer, clk clock.Clock) (*sqlStore, error) {
	cc, err := postgresConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(4)
	s := &sqlStore{db: db, d: postgresDialect, sealer: sealer, clk: clk}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", redactedTarget(cc), err)
	}
	return s, nil
}

// redactedTarget names the database for errors without any credential.
func redactedTarget(cc *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}

// dollarPlaceholders turns each ? in q into $1, $2, … (the journal's
// statements have no ? inside string literals).
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
