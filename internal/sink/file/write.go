package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeAtomic replaces target with content: temp file in the same directory,
// fsync, chmod (and the previous owner, where we may), rename, fsync of the
// directory. Until the rename the old file is untouched; on any error the
// temp file is removed.
func (s *Sink) writeAtomic(target string, content []byte, old fs.FileInfo) (err error) {
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tokenwarden-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(s.cfg.Mode); err != nil {
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if old != nil {
		// Keep the consumer's ownership: a file the app reads as its own user
		// must not become root's 0600 file after rotation.
		keepOwner(tmp, old)
	}
	if _, err := tmp.Write(content); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fsync temp file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temp file: %w", err)
	}
	if s.beforeRename != nil {
		if err := s.beforeRename(); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("rename temp file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability across a power cut is in doubt.
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
