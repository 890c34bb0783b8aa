package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrLocked means another tokenwarden process is rotating on the same state.
var ErrLocked = errors.New("another tokenwarden process (apply, rotate or serve) is working on this state")

// A Lease is the state's exclusive worker lock, held until Unlock: only one
// process at a time may start rotations on a journal, so that two runs never
// plan the same rotation. Readers (plan, history) do not need it.
type Lease struct {
	lost    chan struct{}
	release func()
	once    sync.Once
}

// Lost is closed when the lock went away without Unlock: the PostgreSQL
// session that held it ended (the server restarted, the connection broke),
// so another daemon may lead now. A SQLite lock is never lost.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Unlock releases the lock; calling it again does nothing.
func (l *Lease) Unlock() { l.once.Do(l.release) }

// Lock takes the lock without waiting (ErrLocked when another process has
// it) and returns the func that releases it.
func Lock(dsn string) (unlock func(), err error) {
	l, err := TryLock(context.Background(), dsn)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// TryLock takes the lock without waiting: ErrLocked when another process
// has it. SQLite: an flock on "<database>.lock", released when the process
// dies. PostgreSQL: a session advisory lock (see lockPostgres) on a
// connection of its own, released when the session ends.
func TryLock(ctx context.Context, dsn string) (*Lease, error) {
	if IsPostgres(dsn) {
		return lockPostgres(ctx, dsn, 0, defaultLeaseCheck)
	}
	return lockSQLite(dsn)
}

// WaitLock waits until this process holds the lock, trying again every
// poll, or until ctx ends. It is how a daemon on a shared (PostgreSQL)
// state stands by until the leader goes away; the lease it returns checks
// its session every poll too.
func WaitLock(ctx context.Context, dsn string, poll time.Duration) (*Lease, error) {
	if poll <= 0 {
		return nil, errors.New("lock state: poll interval must be positive")
	}
	if IsPostgres(dsn) {
		return lockPostgres(ctx, dsn, poll, poll)
	}
	for {
		l, err := lockSQLite(dsn)
		if !errors.Is(err, ErrLocked) {
			return l, err
		}
		if err := sleep(ctx, poll); err != nil {
			return nil, err
		}
	}
}

// sleep waits d or until ctx ends. Wall-clock on purpose: it paces real I/O.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func lockSQLite(dsn string) (*Lease, error) {
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	// The lock belongs to the database file, not to the name it was reached
	// by: a second config whose state is a symlink to this database must
	// meet the same lock.
	if path, err = resolvePath(path); err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s is locked)", ErrLocked, path+".lock")
		}
		return nil, fmt.Errorf("lock state: %w", err)
	}
	return &Lease{lost: make(chan struct{}), release: func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}}, nil
}

// resolvePath is path with every symlink resolved, in the directories and
// in the final name, also when the final name is a symlink to a database
// that does not exist yet (a dangling link still names where it will be).
func resolvePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	for range 40 { // the kernel's own limit on a chain of links (ELOOP)
		dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
		if err != nil {
			return "", err
		}
		abs = filepath.Join(dir, filepath.Base(abs))
		fi, err := os.Lstat(abs)
		if errors.Is(err, os.ErrNotExist) {
			return abs, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return abs, nil
		}
		target, err := os.Readlink(abs)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		abs = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}
