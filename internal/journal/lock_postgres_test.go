package journal

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
)

// lockHolder is the process that TestPostgresLockAcrossProcesses starts:
// it takes the lock, says so, and holds it until it is killed.
const lockHolderEnv = "TOKENWARDEN_TEST_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(lockHolderEnv); dsn != "" {
		if _, err := TryLock(context.Background(), dsn); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		select {} // until killed
	}
	os.Exit(m.Run())
}

func TestPostgresLockIsExclusive(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	first, err := TryLock(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(ctx, dsn); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock: got %v, want ErrLocked", err)
	}
	if _, err := Lock(dsn); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock: got %v, want ErrLocked", err)
	}
	// A journal in another schema has a lock of its own.
	other, err := TryLock(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatalf("journal in another schema: %v", err)
	}
	other.Unlock()

	first.Unlock()
	first.Unlock() // harmless
	again, err := TryLock(ctx, dsn)
	if err != nil {
		t.Fatalf("TryLock after unlock: %v", err)
	}
	again.Unlock()
}

// A daemon standing by takes over when the leader unlocks, and when the
// leader's session dies; the old leader learns that it lost the lock.
func TestPostgresWaitLockTakesOver(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	const poll = 50 * time.Millisecond
	for _, how := range []string{"unlock", "session killed"} {
		t.Run(how, func(t *testing.T) {
			leader, err := lockPostgres(ctx, dsn, 0, poll)
			if err != nil {
				t.Fatal(err)
			}
			defer leader.Unlock()
			got := make(chan *Lease, 1)
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			go func() {
				l, err := WaitLock(wctx, dsn, poll)
				if err != nil {
					t.Error(err)
				}
				got <- l
			}()
			select {
			case <-got:
				t.Fatal("WaitLock returned while the leader holds the lock")
			case <-time.After(5 * poll):
			}
			if how == "unlock" {
				leader.Unlock()
			} else {
				killLockHolder(t, dsn)
				select {
				case <-leader.Lost():
				case <-time.After(30 * time.Second):
					t.Fatal("the old leader did not notice that its session died")
				}
			}
			l := <-got
			if l == nil {
				t.Fatal("no lease")
			}
			defer l.Unlock()
			select {
			case <-l.Lost():
				t.Error("the new lease is lost at once")
			default:
			}
			if _, err := TryLock(ctx, dsn); !errors.Is(err, ErrLocked) {
				t.Errorf("after the takeover: TryLock got %v, want ErrLocked", err)
			}
		})
	}
}

// WaitLock gives up when its context ends.
func TestPostgresWaitLockCancelled(t *testing.T) {
	dsn := pgtest.DSN(t)
	leader, err := TryLock(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := WaitLock(ctx, dsn, 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
}

// Two processes: the second gets ErrLocked while the first lives, and the
// lock is free once the first dies without unlocking.
func TestPostgresLockAcrossProcesses(t *testing.T) {
	dsn := pgtest.DSN(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("lock holder: %q, %v", line, err)
	}
	ctx := context.Background()
	if _, err := TryLock(ctx, dsn); !errors.Is(err, ErrLocked) {
		t.Fatalf("while the other process holds it: got %v, want ErrLocked", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := WaitLock(wctx, dsn, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	l.Unlock()
}

// killLockHolder ends the session that holds dsn's advisory lock, as a
// server restart or a broken connection would.
func killLockHolder(t *testing.T, dsn string) {
	t.Helper()
	conn := pgtest.Conn(t, dsn)
	var schema string
	if err := conn.QueryRow(context.Background(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	key := uint64(lockKey(schema))
	var killed bool
	err := conn.QueryRow(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 AND objsubid = 1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		uint32(key>>32), uint32(key)).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("terminate the lock holder: %v (killed=%v)", err, killed)
	}
}
