package file

import (
	"fmt"
	"path/filepath"
)

// The refusals of the walk to a sink's file. Sink.wrap gives each its hint.

// missingDirError: a directory on the way does not exist.
type missingDirError struct{ dir string }

func (e *missingDirError) Error() string { return fmt.Sprintf("directory %s does not exist", e.dir) }

// sharedDirError: the file's directory is writable by other users.
type sharedDirError struct{ dir, why string }

func (e *sharedDirError) Error() string {
	return fmt.Sprintf("directory %s is %s: another user could plant a link or a file of their own there", e.dir, e.why)
}

// plantedError: a link or directory on the way, in a directory other users
// can write to, belongs to one of them.
type plantedError struct{ path, kind, owner, parent string }

func (e *plantedError) Error() string {
	if e.kind == "directory" {
		return fmt.Sprintf("directory %s is owned by %s and sits in %s, which other users can write to: another user could have planted it", e.path, e.owner, e.parent)
	}
	return fmt.Sprintf("%s is %s owned by %s in %s, which other users can write to: another user could have planted it", e.path, e.kind, e.owner, e.parent)
}

// linkError: the file itself is a symbolic link.
type linkError struct{ path, to string }

func (e *linkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link; tokenwarden never writes or reads through a link, which another user could have planted", e.path)
}

func (e *linkError) hint() string {
	if e.to == "" {
		return "set path to the real file, not a link"
	}
	to := e.to
	if !filepath.IsAbs(to) {
		to = filepath.Join(filepath.Dir(e.path), to)
	}
	return fmt.Sprintf("set path to the real file (the link points to %s), or replace the link with a regular file", to)
}
