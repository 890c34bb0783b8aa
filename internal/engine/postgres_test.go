package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
)

// newPostgresWorld is newWorld with its journal in a PostgreSQL schema of
// its own (skipped without $TOKENWARDEN_TEST_POSTGRES, except in CI).
func newPostgresWorld(t *testing.T, strategy string) *world {
	t.Helper()
	dsn := pgtest.DSN(t)
	w := newWorld(t, strategy)
	w.cfg.State = dsn
	return w
}

// TestCrashAtEveryStepPostgres is TestCrashAtEveryStep with a PostgreSQL
// journal: the engine recovers from a crash at any step the same way.
func TestCrashAtEveryStepPostgres(t *testing.T) {
	for _, strategy := range strategies {
		points := 0
		{
			w := newPostgresWorld(t, strategy)
			count := func(*journal.Rotation, journal.Step, bool) error { points++; return nil }
			w.apply(w.engine(count))
			w.clk.Advance(2 * time.Second)
			w.apply(w.engine(count))
		}
		if points < 10 {
			t.Fatalf("%s: only %d fault points", strategy, points)
		}
		for k := 1; k <= points; k++ {
			t.Run(fmt.Sprintf("%s/point-%02d", strategy, k), func(t *testing.T) {
				w := newPostgresWorld(t, strategy)
				n := 0
				var at string
				crash := func(r *journal.Rotation, step journal.Step, after bool) error {
					n++
					if n == k {
						at = fmt.Sprintf("%s after=%v", step, after)
						return engine.ErrCrash
					}
					return nil
				}
				w.apply(w.engine(crash))
				if n < k {
					w.clk.Advance(2 * time.Second)
					w.apply(w.engine(crash))
				}
				if at == "" {
					t.Fatalf("fault point %d not reached", k)
				}
				t.Logf("crashed at %s", at)
				w.finish()
				w.check(strategy)
				var rows int
				if err := pgtest.Conn(t, w.cfg.State).QueryRow(context.Background(), `SELECT count(*) FROM rotations`).Scan(&rows); err != nil || rows == 0 {
					t.Fatalf("the PostgreSQL journal holds %d rotations (%v)", rows, err)
				}
			})
		}
	}
}
