package engine_test

import (
	"context"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
)

// newPostgresWorld is newWorld with its journal in a PostgreSQL schema of
// its own (skipped without $TOKENWARDEN_TEST_POSTGRES, except in CI).
func newPostgresWorld(t *testing.T, strategy string) *world {
	t.Helper()
	dsn := pgtest.DSN(t)
	w := newWorld(t, strategy)
	w.Cfg.State = dsn
	return w
}

// TestCrashAtEveryStepPostgres is TestCrashAtEveryStep with a PostgreSQL
// journal: the engine recovers from a crash at any step the same way.
func TestCrashAtEveryStepPostgres(t *testing.T) {
	crashAtEveryStep(t, strategies, checked(newPostgresWorld, func(t *testing.T, w *world) {
		var rows int
		if err := pgtest.Conn(t, w.Cfg.State).QueryRow(context.Background(), `SELECT count(*) FROM rotations`).Scan(&rows); err != nil || rows == 0 {
			t.Fatalf("the PostgreSQL journal holds %d rotations (%v)", rows, err)
		}
	}))
}
