package journal

import (
	"errors"
	"os"
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

// TestLockFollowsSymlinks: a second config whose state path is a symlink to
// the database (or to its directory) names the same journal, so it must be
// refused while the first holds the lock — also when the database does not
// exist yet and the symlink dangles.
func TestLockFollowsSymlinks(t *testing.T) {
	for _, exists := range []bool{true, false} {
		name := "database exists"
		if !exists {
			name = "database not created yet"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			real := filepath.Join(dir, "data", "tw.db")
			if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
				t.Fatal(err)
			}
			if exists {
				if err := os.WriteFile(real, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			other := filepath.Join(dir, "other")
			if err := os.MkdirAll(other, 0o700); err != nil {
				t.Fatal(err)
			}
			fileLink := filepath.Join(other, "link.db")
			if err := os.Symlink(real, fileLink); err != nil {
				t.Fatal(err)
			}
			dirLink := filepath.Join(dir, "datalink")
			if err := os.Symlink(filepath.Join(dir, "data"), dirLink); err != nil {
				t.Fatal(err)
			}
			// A chain: link2 -> link.db (relative) -> real.
			chain := filepath.Join(other, "link2.db")
			if err := os.Symlink("link.db", chain); err != nil {
				t.Fatal(err)
			}

			unlock, err := Lock("sqlite://" + real)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{fileLink, filepath.Join(dirLink, "tw.db"), chain} {
				if _, err := Lock("sqlite://" + p); !errors.Is(err, ErrLocked) {
					t.Errorf("Lock via %s while %s is locked: got %v, want ErrLocked", p, real, err)
				}
			}
			unlock()

			// And the other way round: held through the link, refused directly.
			unlock, err = Lock("sqlite://" + chain)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Lock("sqlite://" + real); !errors.Is(err, ErrLocked) {
				t.Errorf("Lock via %s while %s is locked: got %v, want ErrLocked", real, chain, err)
			}
			unlock()
		})
	}
}
