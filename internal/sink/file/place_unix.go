//go:build unix

package file

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// place is the directory a sink writes into, opened by a walk that never
// follows a link another user could have planted, and the file's name in it.
// Every read and write goes through the directory's descriptor, so swapping
// a path component after the checks changes nothing.
type place struct {
	dir      *os.File
	name     string
	path     string // the real path of the file, for messages
	euid     int
	sharedOK bool
}

// dirNode is one directory of the walk, opened.
type dirNode struct {
	fd   int
	st   unix.Stat_t
	path string
}

// maxLinks bounds the symlinks followed while resolving the directory (as the kernel's ELOOP does).
const maxLinks = 40

// openPlace resolves path's directory from / one component at a time.
// A symlink among the directories is followed only when root, we or the
// owner of the directory that holds it made it; a directory inside a
// directory other users can write to must belong to root, us or that
// directory's owner (another user could have planted it); the final
// directory must not be writable by other users unless sharedOK.
func openPlace(path string, sharedOK bool) (*place, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(abs)
	if name == "/" || name == "." || name == ".." {
		return nil, fmt.Errorf("%s does not name a file", path)
	}
	euid := os.Geteuid()
	rootFD, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/", Err: err}
	}
	stack := []dirNode{{fd: rootFD, path: "/"}}
	closeAll := func(keep int) {
		for _, n := range stack {
			if n.fd != keep {
				unix.Close(n.fd)
			}
		}
	}
	if err := unix.Fstat(rootFD, &stack[0].st); err != nil {
		closeAll(-1)
		return nil, &os.PathError{Op: "stat", Path: "/", Err: err}
	}
	todo := splitPath(filepath.Dir(abs))
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		cur := stack[len(stack)-1]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				unix.Close(cur.fd)
				stack = stack[:len(stack)-1]
			}
			continue
		}
		p := filepath.Join(cur.path, c)
		var st unix.Stat_t
		if err := unix.Fstatat(cur.fd, c, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			closeAll(-1)
			if errors.Is(err, unix.ENOENT) {
				return nil, &missingDirError{dir: p}
			}
			return nil, &os.PathError{Op: "stat", Path: p, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if err := trustEntry(cur, &st, p, "a symbolic link", euid); err != nil {
				closeAll(-1)
				return nil, err
			}
			if links++; links > maxLinks {
				closeAll(-1)
				return nil, fmt.Errorf("%s: too many levels of symbolic links", path)
			}
			target, err := readlinkat(cur.fd, c)
			if err != nil {
				closeAll(-1)
				return nil, &os.PathError{Op: "readlink", Path: p, Err: err}
			}
			if filepath.IsAbs(target) {
				for _, n := range stack[1:] {
					unix.Close(n.fd)
				}
				stack = stack[:1]
			}
			todo = append(splitPath(target), todo...)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			closeAll(-1)
			return nil, fmt.Errorf("%s is not a directory", p)
		}
		fd, err := unix.Openat(cur.fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll(-1)
			return nil, &os.PathError{Op: "open", Path: p, Err: err}
		}
		n := dirNode{fd: fd, path: p}
		if err := unix.Fstat(fd, &n.st); err != nil {
			unix.Close(fd)
			closeAll(-1)
			return nil, &os.PathError{Op: "stat", Path: p, Err: err}
		}
		if err := trustEntry(cur, &n.st, p, "directory", euid); err != nil {
			unix.Close(fd)
			closeAll(-1)
			return nil, err
		}
		stack = append(stack, n)
	}
	last := stack[len(stack)-1]
	closeAll(last.fd)
	if !sharedOK && last.st.Mode&0o022 != 0 {
		if why := sharedWhy(&last.st); why != "" {
			unix.Close(last.fd)
			return nil, &sharedDirError{dir: last.path, why: why}
		}
	}
	return &place{dir: os.NewFile(uintptr(last.fd), last.path), name: name, path: filepath.Join(last.path, name), euid: euid, sharedOK: sharedOK}, nil
}

// sharedWhy says how other users can write to the directory, or "".
func sharedWhy(st *unix.Stat_t) string {
	mode := st.Mode & 0o7777
	sticky := ""
	if st.Mode&unix.S_ISVTX != 0 {
		sticky = ", even with the sticky bit"
	}
	switch {
	case st.Mode&0o002 != 0:
		return fmt.Sprintf("writable by every user (mode %04o%s)", mode, sticky)
	case st.Mode&0o020 != 0:
		return fmt.Sprintf("writable by its group %s (mode %04o%s)", groupName(st.Gid), mode, sticky)
	}
	return ""
}

// trustEntry refuses an entry of a directory other users can write to when
// it belongs to someone other than root, us or the directory's owner:
// another user could have planted it.
func trustEntry(parent dirNode, st *unix.Stat_t, p, kind string, euid int) error {
	if parent.st.Mode&0o022 == 0 {
		return nil
	}
	if st.Uid == 0 || int(st.Uid) == euid || st.Uid == parent.st.Uid {
		return nil
	}
	return &plantedError{path: p, kind: kind, owner: userName(st.Uid), parent: parent.path}
}

func splitPath(p string) []string {
	var out []string
	if filepath.IsAbs(p) {
		p = p[1:]
	}
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

func userName(uid uint32) string {
	s := "uid " + strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		s += " (" + u.Username + ")"
	}
	return s
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return g.Name
	}
	return "gid " + strconv.FormatUint(uint64(gid), 10)
}

func (p *place) close() { p.dir.Close() }

func (p *place) dirfd() int { return int(p.dir.Fd()) }

// read returns the file's content and its owner and group; fs.ErrNotExist
// when there is no file. A symlink or anything but a regular file is
// refused, and opening never blocks (a planted FIFO).
func (p *place) read() (content []byte, info *ownerInfo, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(p.dirfd(), p.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil, fs.ErrNotExist
		}
		return nil, nil, &os.PathError{Op: "stat", Path: p.path, Err: err}
	}
	if err := p.checkKind(&st); err != nil {
		return nil, nil, err
	}
	fd, err := unix.Openat(p.dirfd(), p.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil, fs.ErrNotExist
		}
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
			return nil, nil, p.linkError()
		}
		return nil, nil, &os.PathError{Op: "open", Path: p.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), p.path)
	defer f.Close()
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, &os.PathError{Op: "stat", Path: p.path, Err: err}
	}
	if err := p.checkKind(&st); err != nil {
		return nil, nil, err
	}
	content, err = io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return content, &ownerInfo{uid: int(st.Uid), gid: int(st.Gid)}, nil
}

func (p *place) checkKind(st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFLNK:
		return p.linkError()
	}
	return fmt.Errorf("%s is not a regular file", p.path)
}

func (p *place) linkError() error {
	to, _ := readlinkat(p.dirfd(), p.name)
	return &linkError{path: p.path, to: to}
}

// ownerInfo is who owns the file being replaced.
type ownerInfo struct{ uid, gid int }

// write replaces the file with content: a temp file created in the
// directory (never through a link), fsync, chmod, rename, fsync of the
// directory. The new file belongs to us, whoever owned the old one; its
// group is kept only when the old file was ours too (someone gave it a
// group of readers on purpose).
func (p *place) write(content []byte, mode fs.FileMode, old *ownerInfo, beforeRename func() error) (err error) {
	var (
		fd  int
		tmp string
	)
	for range 100 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		tmp = "." + p.name + ".tokenwarden-" + hex.EncodeToString(b[:])
		fd, err = unix.Openat(p.dirfd(), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create temp file in %s: %w", p.dir.Name(), err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = unix.Unlinkat(p.dirfd(), tmp, 0)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if old != nil && old.uid == p.euid {
		_ = f.Chown(-1, old.gid) // fails only when we are not in that group: the file keeps ours
	}
	if err := fillTemp(f, content, beforeRename); err != nil {
		return err
	}
	if err := unix.Renameat(p.dirfd(), tmp, p.dirfd(), p.name); err != nil {
		return fmt.Errorf("rename temp file to %s: %w", p.path, err)
	}
	if err := p.dir.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, unix.EINVAL) {
		// The new file is in place; only its durability across a power cut is in doubt.
		return fmt.Errorf("fsync directory %s: %w", p.dir.Name(), err)
	}
	return nil
}

// lock takes an exclusive flock on the directory, so that sinks writing
// different keys of the same file — in this process or another tokenwarden
// — do not lose each other's update. The lock is on the directory because
// the file itself is replaced by rename.
func (p *place) lock() (unlock func(), err error) {
	for {
		err = unix.Flock(p.dirfd(), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return func() { _ = unix.Flock(p.dirfd(), unix.LOCK_UN) }, nil
}
