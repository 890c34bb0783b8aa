//go:build unix

package file_test

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
	"gitlab.com/tokenwarden/tokenwarden/internal/testenv"
)

const tok = "glpat-NEWNEWNEWNEWNEWNEW12"

// otherUser returns the uid and gid of "nobody", the second user the tests
// plant files and links as. Making files owned by another user takes root:
// without it the test is skipped — except with CI=true, where CI runs as
// root and a skip would hide the cases that matter most.
func otherUser(t *testing.T) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the tests do not run as root: they cannot create files owned by another user (the file sink's second-user cases)")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// sharedDir makes a directory every user may write to, like /tmp.
func sharedDir(t *testing.T, parent string, mode os.FileMode) string {
	t.Helper()
	dir := filepath.Join(parent, "shared")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return dir
}

// planted is name in a sticky directory under base that every user may
// write to (like /tmp), made by mk and handed to another user, as if that
// user had made it.
func planted(t *testing.T, base, name string, mk func(path string) error) string {
	t.Helper()
	uid, gid := otherUser(t)
	path := filepath.Join(sharedDir(t, base, 0o777|os.ModeSticky), name)
	if err := mk(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	return path
}

// plantedLink is name -> target, planted under base by another user.
func plantedLink(t *testing.T, base, name, target string) string {
	t.Helper()
	return planted(t, base, name, func(link string) error { return os.Symlink(target, link) })
}

func wantOwnedByUs(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != os.Geteuid() || !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
		t.Fatalf("%s: owner uid %d, mode %v; want a regular file owned by uid %d, mode %v", path, st.Uid, fi.Mode(), os.Geteuid(), mode)
	}
}

// Another user plants link.raw -> /etc/important.conf in a directory every
// user may write to (sticky, like /tmp; allowed here by allow_shared_dir):
// the sink must neither overwrite nor read the link's target.
func TestRefusesSymlinkPlantedByAnotherUser(t *testing.T) {
	otherUser(t) // skips unless root
	base := t.TempDir()
	victim := filepath.Join(base, "important.conf")
	writeFile(t, victim, "keep me\n", 0o644)
	link := plantedLink(t, base, "link.raw", victim)
	s := newSink(t, file.Config{Path: link, Format: file.FormatRaw, AllowSharedDir: true})
	_, err := putToken(s, tok)
	if err == nil || !strings.Contains(err.Error(), link+" is a symbolic link") {
		t.Fatalf("Put: %v; want a refusal naming %s as a symbolic link", err, link)
	}
	if problem.Hint(err) == "" {
		t.Errorf("refusal %q carries no hint", err)
	}
	wantUnchanged(t, victim, "keep me\n")
	if got, err := s.Get(context.Background()); err == nil || strings.Contains(err.Error(), "keep me") {
		t.Fatalf("Get through the planted link = %q, %v; want a refusal", got.Token.Reveal(), err)
	}
}

// A target that is a symlink is refused even when we made it: the rule is
// simple to state and nothing needs to be proven about who made the link.
func TestRefusesSymlinkTarget(t *testing.T) {
	real, link := symlinked(t, "real.env", "link.env", "A=1\n")
	s := newSink(t, file.Config{Path: link, Format: file.FormatDotenv, Key: "T"})
	_, err := putToken(s, tok)
	if err == nil || !strings.Contains(err.Error(), link+" is a symbolic link") || !strings.Contains(problem.Hint(err), real) {
		t.Fatalf("Put: %v (hint %q); want a refusal naming the link, and its target in the hint", err, problem.Hint(err))
	}
	wantUnchanged(t, real, "A=1\n")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced (%v)", err)
	}
}

// A parent directory that is a symlink another user planted in a shared
// directory is not followed; one that root or we made is.
func TestParentSymlinkInSharedDirectory(t *testing.T) {
	uid, _ := otherUser(t)
	base := t.TempDir()
	elsewhere := filepath.Join(base, "etc")
	if err := os.Mkdir(elsewhere, 0o700); err != nil {
		t.Fatal(err)
	}
	link := plantedLink(t, base, "app", elsewhere)
	s := newSink(t, file.Config{Path: filepath.Join(link, "token"), Format: file.FormatRaw})
	_, err := putToken(s, tok)
	if err == nil || !strings.Contains(err.Error(), link+" is a symbolic link owned by uid "+strconv.Itoa(uid)) || !strings.Contains(err.Error(), "other users can write to") {
		t.Fatalf("Put: %v; want a refusal naming the planted link %s and its owner", err, link)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Fatalf("wrote %v into the link's target", entries)
	}

	// The same link made by root (us) is followed.
	if err := os.Lchown(link, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if _, err := putToken(s, tok); err != nil {
		t.Fatalf("Put through a link root made: %v", err)
	}
	wantUnchanged(t, filepath.Join(elsewhere, "token"), tok)
}

// A directory another user made inside a shared directory is theirs to swap:
// the sink does not write into it, even with allow_shared_dir.
func TestDirectoryOfAnotherUserInSharedDirectory(t *testing.T) {
	uid, _ := otherUser(t)
	theirs := planted(t, t.TempDir(), "app", func(p string) error { return os.Mkdir(p, 0o755) })
	s := newSink(t, file.Config{Path: filepath.Join(theirs, "token"), Format: file.FormatRaw, AllowSharedDir: true})
	_, err := putToken(s, tok)
	if err == nil || !strings.Contains(err.Error(), "directory "+theirs+" is owned by uid "+strconv.Itoa(uid)) {
		t.Fatalf("Put: %v; want a refusal naming %s and its owner", err, theirs)
	}
	if entries, _ := os.ReadDir(theirs); len(entries) != 0 {
		t.Fatalf("wrote %v into another user's directory", entries)
	}
}

// A file another user pre-created (here in a shared directory the config
// allows) must not end up holding the secret under that user's name.
func TestFilePrecreatedByAnotherUserBecomesOurs(t *testing.T) {
	_, gid := otherUser(t)
	for _, c := range []struct {
		name   string
		format string
		key    string
		before string
	}{
		{"raw", file.FormatRaw, "", "planted"},
		{"dotenv", file.FormatDotenv, "TOKEN", "A=1\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := planted(t, t.TempDir(), "token", func(p string) error { return os.WriteFile(p, []byte(c.before), 0o666) })
			s := newSink(t, file.Config{Path: path, Format: c.format, Key: c.key, AllowSharedDir: true})
			if _, err := putToken(s, tok); err != nil {
				t.Fatal(err)
			}
			wantOwnedByUs(t, path, 0o600)
			if fi, _ := os.Stat(path); int(fi.Sys().(*syscall.Stat_t).Gid) == gid && gid != os.Getegid() {
				t.Errorf("the file kept the other user's group %d", gid)
			}
			if got, err := s.Get(context.Background()); err != nil || got.Token.Reveal() != tok {
				t.Fatalf("Get = %q, %v", got.Token.Reveal(), err)
			}
		})
	}
}

// The same in a private directory: an admin chowned the file to the app's
// user. It becomes ours; the group is kept only when the file was ours.
func TestOwnershipOfTheRewrittenFile(t *testing.T) {
	uid, gid := otherUser(t)
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.env")
	ours := filepath.Join(dir, "ours.env")
	for _, p := range []string{theirs, ours} {
		writeFile(t, p, "A=1\n", 0o640)
	}
	if err := os.Chown(theirs, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(ours, os.Geteuid(), gid); err != nil { // chgrp app ours.env: a group of readers
		t.Fatal(err)
	}
	for _, p := range []string{theirs, ours} {
		s := newSink(t, file.Config{Path: p, Format: file.FormatDotenv, Key: "T", Mode: 0o640})
		if _, err := putToken(s, tok); err != nil {
			t.Fatal(err)
		}
		wantOwnedByUs(t, p, 0o640)
	}
	if fi, _ := os.Stat(ours); int(fi.Sys().(*syscall.Stat_t).Gid) != gid {
		t.Errorf("ours.env lost the group %d it was given", gid)
	}
}

// A FIFO planted where the file should be must not hang the sink.
func TestRefusesFIFO(t *testing.T) {
	otherUser(t) // skips unless root
	path := planted(t, t.TempDir(), "token", func(p string) error { return syscall.Mkfifo(p, 0o666) })
	s := newSink(t, file.Config{Path: path, Format: file.FormatRaw, AllowSharedDir: true})
	done := make(chan error, 1)
	go func() { _, err := putToken(s, tok); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), path+" is not a regular file") {
			t.Fatalf("Put: %v; want a refusal naming the FIFO", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Put blocked on a FIFO")
	}
}

// A directory other users can write to is refused unless the config allows
// it, with the path, the reason and a hint; nothing is written.
func TestRefusesSharedDirectory(t *testing.T) {
	for _, c := range []struct {
		name   string
		mode   os.FileMode
		reason string
	}{
		{"world-writable", 0o777, "writable by every user"},
		{"sticky like /tmp", 0o777 | os.ModeSticky, "writable by every user"},
		{"group-writable", 0o770, "writable by its group"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := sharedDir(t, t.TempDir(), c.mode)
			path := filepath.Join(dir, "token")
			s := newSink(t, file.Config{Path: path, Format: file.FormatRaw})
			_, err := putToken(s, tok)
			if err == nil || !strings.Contains(err.Error(), "directory "+dir+" is "+c.reason) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Put: %v; want a refusal naming %s and %q", err, dir, c.reason)
			}
			if !strings.Contains(problem.Hint(err), "allow_shared_dir: true") {
				t.Errorf("hint %q does not name allow_shared_dir", problem.Hint(err))
			}
			if _, err := s.Get(context.Background()); err == nil || errors.Is(err, sink.ErrNotFound) {
				t.Errorf("Get: %v; want the same refusal", err)
			}
			if _, err := os.Lstat(path); err == nil {
				t.Fatal("the file was written")
			}

			allowed := newSink(t, file.Config{Path: path, Format: file.FormatRaw, AllowSharedDir: true})
			if _, err := putToken(allowed, tok); err != nil {
				t.Fatalf("Put with allow_shared_dir: %v", err)
			}
			wantUnchanged(t, path, tok)
		})
	}
}
