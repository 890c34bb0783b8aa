package journal

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked means another tokenwarden process is rotating on the same state.
var ErrLocked = errors.New("another tokenwarden process (apply, rotate or serve) is working on this state")

// Lock takes the state's exclusive worker lock, without waiting: only one
// process at a time may start rotations on a journal, so that two runs never
// plan the same rotation. Readers (plan, history) do not need it. The lock is
// an flock on "<database>.lock", released by the returned func or when the
// process dies.
func Lock(dsn string) (unlock func(), err error) {
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
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
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
