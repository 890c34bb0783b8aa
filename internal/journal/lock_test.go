package journal

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestLockIsExclusive(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "tw.db")
	unlock, err := Lock(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dsn); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: got %v, want ErrLocked", err)
	}
	unlock()
	again, err := Lock(dsn)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	again()
}
