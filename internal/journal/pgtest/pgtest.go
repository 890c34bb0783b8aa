// Package pgtest gives tests a PostgreSQL journal of their own: a fresh
// schema in the database named by $TOKENWARDEN_TEST_POSTGRES, dropped when
// the test ends, so that tests (and packages) can run in parallel.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/tokenwarden/tokenwarden/internal/testenv"
)

// EnvDSN names the database tests use, e.g.
// postgres://tokenwarden@127.0.0.1:5432/tokenwarden_test?sslmode=disable
// (the password in PGPASSWORD or ~/.pgpass).
const EnvDSN = "TOKENWARDEN_TEST_POSTGRES"

// DSN creates an empty schema and returns a dsn whose connections use it
// (search_path). Without $TOKENWARDEN_TEST_POSTGRES the test is skipped —
// unless CI=true: CI must not skip.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		testenv.Missing(t, "$"+EnvDSN+" is not set: no PostgreSQL to test against")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("$%s: %v", EnvDSN, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "tw_test_" + hex.EncodeToString(b[:])
	exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs sql on a connection of its own to dsn.
func Exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	exec(t, dsn, sql, args...)
}

// Conn returns a connection to dsn, closed when the test ends.
func Conn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Conn(t, dsn)
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
