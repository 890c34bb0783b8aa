// Package file is the sink that writes a secret into a file on the local
// machine: one key of a dotenv, JSON or YAML file (other keys, comments and
// order kept), or the whole file (raw). Writes are atomic: a temp file in the
// same directory, fsync, chmod, rename, fsync of the directory — a failure
// at any point leaves the previous file as it was.
package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// Formats a file sink understands.
const (
	FormatDotenv = "dotenv"
	FormatJSON   = "json"
	FormatYAML   = "yaml"
	FormatRaw    = "raw"
)

// DefaultMode is the permission of a written file unless Config.Mode says otherwise.
const DefaultMode os.FileMode = 0o600

// Config says where the secret goes.
type Config struct {
	Path   string      // absolute or relative path of the file
	Format string      // dotenv | json | yaml | raw
	Key    string      // the key to set; for json and yaml "a.b.c" is a nested path; empty for raw
	Mode   os.FileMode // permission bits of the written file; 0 means 0600
}

// Sink writes one key of one file.
type Sink struct {
	cfg Config
	fmt format
	mu  sync.Mutex // serialises this sink's read-modify-write; the directory lock covers other sinks and processes

	beforeRename func() error // test seam: fault injection between temp write and rename
}

var _ sink.Sink = (*Sink)(nil)

// format reads and replaces one key's value in a file's content.
type format interface {
	get(content []byte, key string) (value string, ok bool, err error)
	set(content []byte, key, value string) ([]byte, error)
}

var dotenvKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// New validates cfg and returns the sink. It does not touch the file system.
func New(cfg Config) (*Sink, error) {
	if cfg.Path == "" {
		return nil, fail(errors.New("no path given"), "")
	}
	if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
	}
	if cfg.Mode&^fs.ModePerm != 0 {
		return nil, fail(fmt.Errorf("%s: mode %v has bits other than permissions", cfg.Path, cfg.Mode), "use an octal permission such as 0600 or 0640")
	}
	s := &Sink{cfg: cfg}
	switch cfg.Format {
	case FormatDotenv:
		if !dotenvKey.MatchString(cfg.Key) {
			return nil, fail(fmt.Errorf("%s: dotenv key %q is not a valid variable name", cfg.Path, cfg.Key), "use letters, digits and '_', not starting with a digit")
		}
		s.fmt = dotenv{}
	case FormatJSON, FormatYAML:
		if err := checkKeyPath(cfg.Key); err != nil {
			return nil, fail(fmt.Errorf("%s: %w", cfg.Path, err), `name the key, e.g. "token" or "registry.token" for a nested one`)
		}
		if cfg.Format == FormatJSON {
			s.fmt = jsonFormat{}
		} else {
			s.fmt = yamlFormat{}
		}
	case FormatRaw:
		if cfg.Key != "" {
			return nil, fail(fmt.Errorf("%s: format raw takes no key (the whole file is the secret)", cfg.Path), "drop the key, or choose dotenv, json or yaml")
		}
		s.fmt = raw{}
	case "":
		return nil, fail(fmt.Errorf("%s: no format given", cfg.Path), "set format to dotenv, json, yaml or raw")
	default:
		return nil, fail(fmt.Errorf("%s: unknown format %q", cfg.Path, cfg.Format), "set format to dotenv, json, yaml or raw")
	}
	return s, nil
}

// ID is "file:<path>#<key>" ("file:<path>" for raw).
func (s *Sink) ID() string {
	if s.cfg.Key == "" {
		return "file:" + s.cfg.Path
	}
	return "file:" + s.cfg.Path + "#" + s.cfg.Key
}

// Describe names the file and key for humans.
func (s *Sink) Describe() string {
	if s.cfg.Format == FormatRaw {
		return fmt.Sprintf("file %s (whole file)", s.cfg.Path)
	}
	return fmt.Sprintf("file %s (%s key %s)", s.cfg.Path, s.cfg.Format, s.cfg.Key)
}

// Path is the configured file path.
func (s *Sink) Path() string { return s.cfg.Path }

// Get reads the key's current value.
func (s *Sink) Get(ctx context.Context) (secret.Secret, error) {
	target, err := s.target()
	if err != nil {
		return secret.Secret{}, err
	}
	content, err := os.ReadFile(target)
	if errors.Is(err, fs.ErrNotExist) {
		return secret.Secret{}, s.wrap(sink.ErrNotFound)
	}
	if err != nil {
		return secret.Secret{}, s.wrap(err)
	}
	v, ok, err := s.fmt.get(content, s.cfg.Key)
	if err != nil {
		return secret.Secret{}, s.wrap(err)
	}
	if !ok {
		return secret.Secret{}, s.wrap(sink.ErrNotFound)
	}
	return secret.New(v), nil
}

// Put sets the key to v unless it already holds v.
func (s *Sink) Put(ctx context.Context, v secret.Secret) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, s.wrap(err)
	}
	if v.IsZero() {
		return false, s.wrap(errors.New("refusing to write an empty secret"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	target, err := s.target()
	if err != nil {
		return false, err
	}
	dir := filepath.Dir(target)
	unlock, err := lockDir(dir)
	if err != nil {
		return false, s.wrap(fmt.Errorf("lock %s: %w", dir, err))
	}
	defer unlock()

	content, err := os.ReadFile(target)
	var old fs.FileInfo
	switch {
	case errors.Is(err, fs.ErrNotExist):
		content = nil
	case err != nil:
		return false, s.wrap(err)
	default:
		if old, err = os.Stat(target); err != nil {
			return false, s.wrap(err)
		}
		if !old.Mode().IsRegular() {
			return false, s.wrap(fmt.Errorf("%s is not a regular file", target))
		}
	}
	if cur, ok, err := s.fmt.get(content, s.cfg.Key); err != nil {
		return false, s.wrap(scrubErr(err, v))
	} else if ok && cur == v.Reveal() {
		return false, nil
	}
	next, err := s.fmt.set(content, s.cfg.Key, v.Reveal())
	if err != nil {
		return false, s.wrap(scrubErr(err, v))
	}
	// Read back before writing: a value our encoder would not return
	// unchanged must not reach the consumer.
	if got, ok, err := s.fmt.get(next, s.cfg.Key); err != nil || !ok || got != v.Reveal() {
		return false, s.wrap(errors.New("the new content would not read back as the secret; nothing written"))
	}
	if err := s.writeAtomic(target, next, old); err != nil {
		return false, s.wrap(scrubErr(err, v))
	}
	return true, nil
}

// target resolves the configured path to the file that is really written:
// a symlink is followed (replacing it with a regular file would silently
// cut whoever relies on the link), but not into a directory anyone may write
// to, where another user could swap the file between our check and rename.
func (s *Sink) target() (string, error) {
	path := s.cfg.Path
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", &sink.Error{Kind: "file", Err: fmt.Errorf("%s: directory %s does not exist", s.cfg.Path, dir),
			Hint: "create the directory (with the owner and permissions the consumer needs); tokenwarden does not create directories"}
	}
	if err != nil {
		return "", s.wrap(err)
	}
	if !st.IsDir() {
		return "", s.wrap(fmt.Errorf("%s is not a directory", dir))
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		resolved, err := filepath.EvalSymlinks(path)
		if errors.Is(err, fs.ErrNotExist) {
			// A dangling link: write where it points if that directory exists.
			link, lerr := os.Readlink(path)
			if lerr != nil {
				return "", s.wrap(lerr)
			}
			if !filepath.IsAbs(link) {
				link = filepath.Join(dir, link)
			}
			rdir, derr := filepath.EvalSymlinks(filepath.Dir(link))
			if derr != nil {
				return "", &sink.Error{Kind: "file", Err: fmt.Errorf("%s is a symlink to %s, whose directory does not exist", path, link),
					Hint: "fix or remove the symlink"}
			}
			resolved = filepath.Join(rdir, filepath.Base(link))
		} else if err != nil {
			return "", s.wrap(err)
		}
		path = resolved
	}
	if err := checkDirSafe(filepath.Dir(path)); err != nil {
		return "", &sink.Error{Kind: "file", Err: fmt.Errorf("%s: %w", s.cfg.Path, err),
			Hint: "put the file in a directory only its owner can write to"}
	}
	return path, nil
}

// checkDirSafe refuses directories that every user may write to, unless the
// sticky bit keeps them from replacing other users' files (like /tmp).
func checkDirSafe(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if m := st.Mode(); m&0o002 != 0 && m&fs.ModeSticky == 0 {
		return fmt.Errorf("directory %s is writable by every user", dir)
	}
	return nil
}

func (s *Sink) wrap(err error) error {
	var se *sink.Error
	if errors.As(err, &se) {
		return err
	}
	return &sink.Error{Kind: "file", Err: fmt.Errorf("%s: %w", s.Describe(), err)}
}

func fail(err error, hint string) error { return &sink.Error{Kind: "file", Err: err, Hint: hint} }

// scrubErr keeps the new value out of an error built from file content.
func scrubErr(err error, v secret.Secret) error {
	msg := err.Error()
	if clean := sink.Scrub(msg, v); clean != msg {
		return errors.New(clean)
	}
	return err
}
