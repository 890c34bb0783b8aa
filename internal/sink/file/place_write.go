package file

import (
	"fmt"
	"os"
)

// fillTemp writes content to the temporary file f, makes it durable and
// closes it, then runs beforeRename (a test hook) when set: what comes
// before the rename that puts the file in place, on every system.
func fillTemp(f *os.File, content []byte, beforeRename func() error) error {
	if _, err := f.Write(content); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync temp file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temp file: %w", err)
	}
	if beforeRename != nil {
		return beforeRename()
	}
	return nil
}
