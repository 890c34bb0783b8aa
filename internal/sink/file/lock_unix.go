//go:build unix

package file

import (
	"io/fs"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on dir, so that sinks writing different
// keys of the same file — in this process or another tokenwarden — do not
// lose each other's update. The lock is on the directory because the file
// itself is replaced by rename.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}, nil
}

// keepOwner gives f the owner and group of old. It only succeeds with the
// privilege to chown; otherwise the file keeps ours, which is what an
// unprivileged writer gets anyway.
func keepOwner(f *os.File, old fs.FileInfo) {
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	_ = f.Chown(int(st.Uid), int(st.Gid))
}
