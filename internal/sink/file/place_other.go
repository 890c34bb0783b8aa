//go:build !unix

package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// place is the directory a sink writes into and the file's name in it. On
// systems without openat and O_NOFOLLOW it works on paths; a target that is
// a symbolic link is still refused.
type place struct {
	dir  string
	name string
	path string
}

type ownerInfo struct{}

func openPlace(path string, _ bool) (*place, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &missingDirError{dir: dir}
	}
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	return &place{dir: dir, name: filepath.Base(abs), path: abs}, nil
}

func (p *place) close() {}

func (p *place) read() ([]byte, *ownerInfo, error) {
	fi, err := os.Lstat(p.path)
	if err != nil {
		return nil, nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		to, _ := os.Readlink(p.path)
		return nil, nil, &linkError{path: p.path, to: to}
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", p.path)
	}
	b, err := os.ReadFile(p.path)
	return b, &ownerInfo{}, err
}

func (p *place) write(content []byte, mode fs.FileMode, _ *ownerInfo, beforeRename func() error) (err error) {
	tmp, err := os.CreateTemp(p.dir, "."+p.name+".tokenwarden-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if err := fillTemp(tmp, content, beforeRename); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p.path); err != nil {
		return fmt.Errorf("rename temp file: %w", err)
	}
	return nil
}

func (p *place) lock() (func(), error) { return func() {}, nil }
