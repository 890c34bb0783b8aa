package daemon_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
)

// On a shared (PostgreSQL) state held by another daemon, Lead stands by;
// Run takes the lock once that daemon lets go, and keeps it after its
// context ended until Release (a rotation may still be finishing).
func TestLeaderStandsByThenLeads(t *testing.T) {
	dsn := pgtest.DSN(t)
	other, err := journal.TryLock(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Unlock()
	l, err := daemon.Lead(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if l.IsLeading() {
		t.Fatal("leading while another daemon holds the lock")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- l.Run(ctx) }()
	other.Unlock()
	select {
	case <-l.Leading():
	case err := <-ran:
		t.Fatalf("Run ended before leading: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("did not take the lock within a minute of it being free")
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if _, err := journal.TryLock(context.Background(), dsn); !errors.Is(err, journal.ErrLocked) {
		t.Fatalf("after Run ended, before Release: TryLock got %v, want ErrLocked", err)
	}
	l.Release()
	again, err := journal.TryLock(context.Background(), dsn)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	again.Unlock()
}

// On SQLite there is no standing by: a second serve on the same file is an
// error, as apply and rotate are.
func TestLeadOnALockedSQLiteState(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "tw.db")
	other, err := journal.TryLock(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Unlock()
	if _, err := daemon.Lead(context.Background(), dsn, nil); !errors.Is(err, journal.ErrLocked) {
		t.Fatalf("Lead on a locked SQLite state: %v, want ErrLocked", err)
	}
}
