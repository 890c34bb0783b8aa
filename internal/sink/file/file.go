// Package file is the sink that writes a secret into a file on the local
// machine: one key of a dotenv, JSON, YAML or TOML file (other keys, comments
// and order kept) — and a second key for the username of a token that has one —,
// one registry's entry of a Docker config.json, or the whole file (raw:
// exactly the secret's bytes). Writes
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
	FormatTOML   = "toml"
)

// DefaultMode is the permission of a written file unless Config.Mode says otherwise.
const DefaultMode os.FileMode = 0o600

// Config says where the secret goes: a "file:" entry under deliver in the
// config file. Path is resolved against the config file's directory by
// config (the `config:"path"` tag).
type Config struct {
	Path   string `yaml:"path" config:"path"`
	Format string `yaml:"format"` // dotenv | json | yaml | toml | raw | docker_config; "" → from the file name (Complete)
	Key    string `yaml:"key"`    // the key to set; for json, yaml and toml "a.b.c" is a nested path (toml: runners[name=x].token selects a table); empty for raw
	// UsernameKey (dotenv, json, yaml) is the key that holds the username
	// of a token that has one (a deploy token), written with the token in
	// the same replace of the file.
	UsernameKey string `yaml:"username_key"`
	// Registry (docker_config) is the registry host whose auths entry
	// holds the credential.
	Registry string      `yaml:"registry"`
	Mode     os.FileMode `yaml:"mode"` // permission bits of the written file
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
	case ".toml":
		c.Format = FormatTOML
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
	var ps problem.List
	if c.Path == "" {
		ps.Add("", "add path: /etc/app/token.env", "path is required")
	}
	switch c.Format {
	case FormatDotenv, FormatJSON, FormatYAML, FormatTOML:
		switch {
		case c.Key == "":
			ps.Add("", "add key: the variable or field that holds the token, or use format: raw", "key is required for format %s", c.Format)
		case c.Format == FormatDotenv && !dotenvKey.MatchString(c.Key):
			ps.Add("key", "use letters, digits and '_', not starting with a digit", "dotenv key %q is not a valid variable name", c.Key)
		case c.Format == FormatTOML:
			if _, err := parseTOMLPath(c.Key); err != nil {
				ps.Add("key", `name the key, e.g. "token", "section.token", or runners[name=NAME].token for one runner of a gitlab-runner config.toml`, "%v", err)
			}
		case c.Format != FormatDotenv:
			if err := checkKeyPath(c.Key); err != nil {
				ps.Add("key", `name the key, e.g. "token" or "registry.token" for a nested one`, "%v", err)
			}
		}
		ps = append(ps, c.validateUsernameKey()...)
	case FormatRaw:
		if c.Key != "" {
			ps.Add("key", "a raw file holds only the token: remove key, or choose format dotenv, json, yaml or toml", "key is not used with format raw")
		}
		if c.UsernameKey != "" {
			ps.Add("username_key", "a raw file holds only the token: choose format dotenv, json or yaml to add the username", "username_key is not used with format raw")
		}
	case FormatDockerConfig:
		c.validateDockerConfig(&ps)
	default:
		ps.Add("format", "formats: dotenv, json, yaml, toml, raw, docker_config", "unknown format %q", c.Format)
	}
	if c.Registry != "" && c.Format != FormatDockerConfig {
		ps.Add("registry", "remove it, or use format: docker_config", "registry is only used with format docker_config")
	}
	if c.Newline && c.Format != FormatRaw {
		ps.Add("newline", "remove newline: it applies only to format raw (a key's value never carries one)", "newline is used only with format raw")
	}
	switch {
	case c.Mode&^fs.ModePerm != 0:
		ps.Add("mode", "use an octal permission such as 0600 or 0640", "mode %v has bits other than permissions", c.Mode)
	case c.Mode&0o007 != 0:
		ps.Add("mode", "use mode \"0600\" (or \"0640\" for a group of readers)", "mode %04o lets every user on the machine read the token", c.Mode)
	case c.Mode&0o600 != 0o600:
		ps.Add("mode", "the owner must be able to read and write it: use mode \"0600\"", "mode %04o", c.Mode)
	}
	return ps
}

// DeliversUsername names the setting that makes this entry deliver a
// username (config refuses it on a token that has none), or "".
func (c *Config) DeliversUsername() string {
	switch {
	case c.Format == FormatDockerConfig:
		return "format"
	case c.UsernameKey != "":
		return "username_key"
	}
	return ""
}

// validateUsernameKey checks username_key for the formats that edit keys.
func (c *Config) validateUsernameKey() []problem.Problem {
	switch {
	case c.UsernameKey == "":
		return nil
	case c.UsernameKey == c.Key:
		return []problem.Problem{problem.Errorf("username_key", "give the username its own key, e.g. REGISTRY_USER", "username_key is the same key as key")}
	case c.Format == FormatDotenv && !dotenvKey.MatchString(c.UsernameKey):
		return []problem.Problem{problem.Errorf("username_key", "use letters, digits and '_', not starting with a digit", "dotenv username_key %q is not a valid variable name", c.UsernameKey)}
	case c.Format != FormatDotenv:
		if err := checkKeyPath(c.UsernameKey); err != nil {
			return []problem.Problem{problem.Errorf("username_key", `name the key, e.g. "username" or "registry.username" for a nested one`, "%v", err)}
		}
		if strings.HasPrefix(c.Key+".", c.UsernameKey+".") || strings.HasPrefix(c.UsernameKey+".", c.Key+".") {
			return []problem.Problem{problem.Errorf("username_key", "the token and the username need keys of their own, neither inside the other", "username_key %q and key %q overlap", c.UsernameKey, c.Key)}
		}
	}
	return nil
}

// Sink writes one key (or a token's keys, or a registry's entry) of one file.
type Sink struct {
	cfg Config
	fmt codec
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
		s.fmt = keyed{dotenv{}, cfg.Key, cfg.UsernameKey}
	case FormatJSON:
		s.fmt = keyed{jsonFormat{}, cfg.Key, cfg.UsernameKey}
	case FormatYAML:
		s.fmt = keyed{yamlFormat{}, cfg.Key, cfg.UsernameKey}
	case FormatTOML:
		s.fmt = keyed{tomlFormat{}, cfg.Key, cfg.UsernameKey}
	case FormatDockerConfig:
		s.fmt = dockerConfig{registry: cfg.Registry}
	default:
		s.fmt = keyed{raw{newline: cfg.Newline}, "", ""}
	}
	return s, nil
}

// ID is "file:<path>#<key>" ("file:<path>" for raw,
// "file:<path>#auths.<registry>" for docker_config).
func (s *Sink) ID() string {
	switch {
	case s.cfg.Format == FormatDockerConfig:
		return "file:" + s.cfg.Path + "#auths." + s.cfg.Registry
	case s.cfg.Key == "":
		return "file:" + s.cfg.Path
	}
	return "file:" + s.cfg.Path + "#" + s.cfg.Key
}

// Describe names the file and key for humans.
func (s *Sink) Describe() string {
	switch {
	case s.cfg.Format == FormatRaw:
		return fmt.Sprintf("file %s (whole file)", s.cfg.Path)
	case s.cfg.Format == FormatDockerConfig:
		return fmt.Sprintf("file %s (Docker config, auths entry %s)", s.cfg.Path, s.cfg.Registry)
	case s.cfg.UsernameKey != "":
		return fmt.Sprintf("file %s (%s keys %s and %s)", s.cfg.Path, s.cfg.Format, s.cfg.Key, s.cfg.UsernameKey)
	}
	return fmt.Sprintf("file %s (%s key %s)", s.cfg.Path, s.cfg.Format, s.cfg.Key)
}

// Path is the configured file path.
func (s *Sink) Path() string { return s.cfg.Path }

// Get reads the key's current value (and the username's, when the file
// holds one): ErrNotFound when either is missing.
func (s *Sink) Get(ctx context.Context) (secret.Credential, error) {
	pl, err := s.open()
	if err != nil {
		return secret.Credential{}, err
	}
	defer pl.close()
	content, _, err := pl.read()
	if errors.Is(err, fs.ErrNotExist) {
		return secret.Credential{}, s.wrap(sink.ErrNotFound)
	}
	if err != nil {
		return secret.Credential{}, s.wrap(err)
	}
	c, ok, err := s.fmt.get(content)
	if err != nil {
		return secret.Credential{}, s.wrap(err)
	}
	if !ok {
		return secret.Credential{}, s.wrap(sink.ErrNotFound)
	}
	return c, nil
}

// Put sets the key to v's token (and the username key to its username)
// unless the file already holds them.
func (s *Sink) Put(ctx context.Context, v secret.Credential) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, s.wrap(err)
	}
	if v.IsZero() {
		return false, s.wrap(errors.New("refusing to write an empty secret"))
	}
	if !s.fmt.usesUsername() {
		v.Username = "" // this file holds only the token
	} else if v.Username == "" {
		return false, fail(fmt.Errorf("%s: the token has no username to write", s.Describe()),
			"only a deploy token has a username: remove username_key (or use another format than docker_config) for this token")
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
	if cur, ok, err := s.fmt.get(content); err != nil {
		return false, s.wrap(scrubErr(err, v.Token))
	} else if ok && cur.Equal(v) {
		return false, nil
	}
	next, err := s.fmt.set(content, v)
	if err != nil {
		return false, s.wrap(scrubErr(err, v.Token))
	}
	// Read back before writing: a value our encoder would not return
	// unchanged must not reach the consumer.
	if got, ok, err := s.fmt.get(next); err != nil || !ok || !got.Equal(v) {
		return false, s.wrap(errors.New("the new content would not read back as the secret; nothing written"))
	}
	if err := pl.write(next, s.cfg.Mode, old, s.beforeRename); err != nil {
		return false, s.wrap(scrubErr(err, v.Token))
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
		shadow  *shadowError
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
	case errors.As(err, &shadow):
		hint = shadow.hint()
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
