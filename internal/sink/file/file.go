// Package file is the sink that writes a secret into a file on the local
// machine: one key of a dotenv, JSON or YAML file (other keys, comments and
// order kept), or the whole file (raw: exactly the secret's bytes). Writes
// are atomic: a temp file in the same directory, fsync, chmod, rename, fsync
// of the directory — a failure at any point leaves the previous file as it
// was.
//
// Other users of the machine are not trusted: the directory is reached
// without following a link another user could have planted, the file itself
// is never a link, a directory other users can write to is refused unless
// the config allows it, and the written file belongs to tokenwarden's user,
// whoever owned the file it replaces.
package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
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

// Config says where the secret goes: a "file:" entry under deliver in the
// config file. Path is resolved against the config file's directory by
// config (the `config:"path"` tag).
type Config struct {
	Path   string      `yaml:"path" config:"path"`
	Format string      `yaml:"format"` // dotenv | json | yaml | raw; "" → from the file name (Complete)
	Key    string      `yaml:"key"`    // the key to set; for json and yaml "a.b.c" is a nested path; empty for raw
	Mode   os.FileMode `yaml:"mode"`   // permission bits of the written file
	// AllowSharedDir lets the file live in a directory other users can
	// write to (group- or world-writable, sticky like /tmp or not).
	AllowSharedDir bool `yaml:"allow_shared_dir"`
	// Newline ends a raw file with "\n" after the secret, for consumers
	// that want a text file; by default the file is exactly the secret.
	Newline bool `yaml:"newline"`
}

// DefaultConfig is a Config with the defaults a config file starts from.
func DefaultConfig() *Config { return &Config{Mode: DefaultMode} }

// Complete fills in what the settings imply: the format from the file's
// name when none is given (.json, .yaml/.yml, .env; else raw without a key
// and dotenv with one).
func (c *Config) Complete() {
	if c.Format != "" {
		return
	}
	switch strings.ToLower(filepath.Ext(c.Path)) {
	case ".json":
		c.Format = FormatJSON
	case ".yaml", ".yml":
		c.Format = FormatYAML
	case ".env":
		c.Format = FormatDotenv
	default:
		c.Format = FormatDotenv
		if c.Key == "" {
			c.Format = FormatRaw
		}
	}
}

// Validate reports every problem of c (after Complete). New refuses the
// first; config reports them all, each at its line.
func (c *Config) Validate() []problem.Problem {
	var ps []problem.Problem
	add := func(key, hint, format string, a ...any) { ps = append(ps, problem.Errorf(key, hint, format, a...)) }
	if c.Path == "" {
		add("", "add path: /etc/app/token.env", "path is required")
	}
	switch c.Format {
	case FormatDotenv, FormatJSON, FormatYAML:
		switch {
		case c.Key == "":
			add("", "add key: the variable or field that holds the token, or use format: raw", "key is required for format %s", c.Format)
		case c.Format == FormatDotenv && !dotenvKey.MatchString(c.Key):
			add("key", "use letters, digits and '_', not starting with a digit", "dotenv key %q is not a valid variable name", c.Key)
		case c.Format != FormatDotenv:
			if err := checkKeyPath(c.Key); err != nil {
				add("key", `name the key, e.g. "token" or "registry.token" for a nested one`, "%v", err)
			}
		}
	case FormatRaw:
		if c.Key != "" {
			add("key", "a raw file holds only the token: remove key, or choose format dotenv, json or yaml", "key is not used with format raw")
		}
	default:
		add("format", "formats: dotenv, json, yaml, raw", "unknown format %q", c.Format)
	}
	if c.Newline && c.Format != FormatRaw {
		add("newline", "remove newline: it applies only to format raw (a key's value never carries one)", "newline is used only with format raw")
	}
	switch {
	case c.Mode&^fs.ModePerm != 0:
		add("mode", "use an octal permission such as 0600 or 0640", "mode %v has bits other than permissions", c.Mode)
	case c.Mode&0o007 != 0:
		add("mode", "use mode \"0600\" (or \"0640\" for a group of readers)", "mode %04o lets every user on the machine read the token", c.Mode)
	case c.Mode&0o600 != 0o600:
		add("mode", "the owner must be able to read and write it: use mode \"0600\"", "mode %04o", c.Mode)
	}
	return ps
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

// New completes and validates cfg (a zero Mode means DefaultMode) and
// returns the sink. It does not touch the file system.
func New(cfg Config) (*Sink, error) {
	if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
	}
	cfg.Complete()
	if ps := cfg.Validate(); len(ps) > 0 {
		if cfg.Path == "" {
			return nil, fail(ps[0], ps[0].Hint)
		}
		return nil, fail(fmt.Errorf("%s: %w", cfg.Path, ps[0]), ps[0].Hint)
	}
	s := &Sink{cfg: cfg}
	switch cfg.Format {
	case FormatDotenv:
		s.fmt = dotenv{}
	case FormatJSON:
		s.fmt = jsonFormat{}
	case FormatYAML:
		s.fmt = yamlFormat{}
	default:
		s.fmt = raw{newline: cfg.Newline}
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
	pl, err := s.open()
	if err != nil {
		return secret.Secret{}, err
	}
	defer pl.close()
	content, _, err := pl.read()
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
	pl, err := s.open()
	if err != nil {
		return false, err
	}
	defer pl.close()
	unlock, err := pl.lock()
	if err != nil {
		return false, s.wrap(fmt.Errorf("lock the directory of %s: %w", s.cfg.Path, err))
	}
	defer unlock()

	content, old, err := pl.read()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		content, old = nil, nil
	case err != nil:
		return false, s.wrap(err)
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
	if err := pl.write(next, s.cfg.Mode, old, s.beforeRename); err != nil {
		return false, s.wrap(scrubErr(err, v))
	}
	return true, nil
}

// open walks to the file's directory without following a link another user
// could have planted, and refuses a directory other users can write to
// unless the config allows it. The file itself is never a link: read and
// write refuse one.
func (s *Sink) open() (*place, error) {
	pl, err := openPlace(s.cfg.Path, s.cfg.AllowSharedDir)
	if err != nil {
		return nil, s.wrap(err)
	}
	return pl, nil
}

func (s *Sink) wrap(err error) error {
	var se *sink.Error
	if errors.As(err, &se) {
		return err
	}
	var (
		hint    string
		missing *missingDirError
		shared  *sharedDirError
		planted *plantedError
		link    *linkError
	)
	switch {
	case errors.As(err, &missing):
		hint = "create the directory (with the owner and permissions the consumer needs); tokenwarden does not create directories"
	case errors.As(err, &shared):
		hint = "put the file in a directory only its owner can write to; or, if every user who can write to " + shared.dir + " is trusted, set allow_shared_dir: true on this file sink"
	case errors.As(err, &planted):
		hint = "use a path whose directories belong to root or to tokenwarden's user (not made by another user in " + planted.parent + ")"
	case errors.As(err, &link):
		hint = link.hint()
	}
	return &sink.Error{Kind: "file", Err: fmt.Errorf("%s: %w", s.Describe(), err), Hint: hint}
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
