// Package exec is the sink that hands a secret to a command: on its stdin or
// in one environment variable, never in its argv (which every user on the
// machine can read in /proc). The command runs with a minimal environment,
// never tokenwarden's own (which holds the managing token and other
// secrets). A non-zero exit fails the delivery; a timeout kills the
// command's whole process group. An exec hook cannot be read back or
// compared, so every Put runs it.
package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// DefaultTimeout bounds a run unless Config.Timeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Config says what to run and how it receives the secret: an "exec:" entry
// under deliver in the config file.
type Config struct {
	Command []string `yaml:"command"` // argv; Command[0] is looked up in PATH
	Env     string   `yaml:"env"`     // pass the secret in this environment variable; "" → on stdin
	// UsernameEnv passes the username of a token that has one (a deploy
	// token) in this environment variable — never in argv.
	UsernameEnv string        `yaml:"username_env"`
	Timeout     time.Duration `yaml:"timeout"` // 0 means DefaultTimeout
	// EnvPass names variables of tokenwarden's environment the command also
	// gets, besides PassedEnv. Refusing the ones that hold tokenwarden's own
	// secrets is the config's job: it knows their names (see PassesEnv).
	EnvPass []string `yaml:"env_pass"`
	// Newline ends the secret on stdin with "\n", for hooks that read a
	// line; by default stdin is exactly the secret's bytes.
	Newline bool `yaml:"newline"`

	Dir string `yaml:"-"` // working directory; "" → tokenwarden's own
	// Redactor scrubs every secret of the process from the command's
	// stderr before it is quoted in an error; the delivered secret is
	// always scrubbed too.
	Redactor *secret.Redactor `yaml:"-"`
	// Meta is passed to the command as TOKENWARDEN_TOKEN_NAME and
	// TOKENWARDEN_TOKEN_EXPIRES_AT; a sink.WithMeta on the Put context
	// overrides it field by field.
	Meta sink.Meta `yaml:"-"`
}

// DefaultConfig is a Config with the defaults a config file starts from.
func DefaultConfig() *Config { return &Config{} }

// Complete fills in the default timeout.
func (c *Config) Complete() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// PassesEnv names the setting and the variables of tokenwarden's
// environment the command gets: config refuses those that hold one of
// tokenwarden's own secrets.
func (c *Config) PassesEnv() (key string, names []string) { return "env_pass", c.EnvPass }

// Validate reports every problem of c. New refuses the first; config
// reports them all, each at its line. Names that are not variable names are
// not quoted: a secret pasted there by mistake must not be echoed.
func (c *Config) Validate() []problem.Problem {
	var ps problem.List
	if len(c.Command) == 0 || c.Command[0] == "" {
		ps.Add("", "add command: [systemctl, reload, app] (the token arrives on stdin, or in the variable named by env)", "command is required")
	}
	switch {
	case c.Env != "" && !envName.MatchString(c.Env):
		ps.Add("env", envNameHint(c.Env), "env is not an environment variable name")
	case strings.HasPrefix(c.Env, "TOKENWARDEN_"):
		ps.Add("env", "choose another variable name", "env %s: the TOKENWARDEN_ prefix is reserved", c.Env)
	}
	for i, name := range c.EnvPass {
		switch {
		case !envName.MatchString(name):
			ps.Add("env_pass", envNameHint(name), "env_pass[%d] is not an environment variable name", i)
		case strings.HasPrefix(name, "TOKENWARDEN_"):
			ps.Add("env_pass", "remove it from env_pass", "env_pass %s: tokenwarden's own variables are never passed to a hook", name)
		case name == c.Env:
			ps.Add("env_pass", "remove it from env_pass: the hook gets the new secret in it", "env_pass %s: it is the variable the secret goes in (env)", name)
		case name == c.UsernameEnv:
			ps.Add("env_pass", "remove it from env_pass: the hook gets the username in it", "env_pass %s: it is the variable the username goes in (username_env)", name)
		}
	}
	switch {
	case c.UsernameEnv == "":
	case !envName.MatchString(c.UsernameEnv):
		ps.Add("username_env", envNameHint(c.UsernameEnv), "username_env is not an environment variable name")
	case strings.HasPrefix(c.UsernameEnv, "TOKENWARDEN_"):
		ps.Add("username_env", "choose another variable name", "username_env %s: the TOKENWARDEN_ prefix is reserved", c.UsernameEnv)
	case c.UsernameEnv == c.Env:
		ps.Add("username_env", "give the username its own variable, e.g. REGISTRY_USER", "username_env is the variable the secret goes in (env)")
	}
	if c.Newline && c.Env != "" {
		ps.Add("newline", "remove newline, or remove env to pass the secret on stdin", "newline applies to the secret on stdin, not to the variable named by env")
	}
	if c.Timeout < 0 {
		ps.Add("timeout", "", "timeout must not be negative")
	}
	return ps
}

// DeliversUsername names the setting that makes this hook get a username
// (config refuses it on a token that has none), or "".
func (c *Config) DeliversUsername() string {
	if c.UsernameEnv != "" {
		return "username_env"
	}
	return ""
}

func envNameHint(s string) string {
	if strings.HasPrefix(s, "$") {
		return "write the name without $: " + strings.Trim(s, "${}")
	}
	return "an environment variable name is letters, digits and _"
}

// Sink runs one command per delivery.
type Sink struct {
	cfg Config
	mu  sync.Mutex // one run at a time: a hook that reloads a service should not race itself
}

var _ sink.Sink = (*Sink)(nil)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// PassedEnv are the variables of tokenwarden's environment every command
// gets (when they are set).
var PassedEnv = []string{"PATH", "HOME", "LANG", "TZ"}

// stderrTail is how much of a failed command's stderr an error quotes.
const (
	stderrLines = 5
	stderrBytes = 1024
)

// New completes and validates cfg.
func New(cfg Config) (*Sink, error) {
	cfg.Complete()
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fail(ps[0], ps[0].Hint)
	}
	cfg.Command = append([]string(nil), cfg.Command...)
	cfg.EnvPass = append([]string(nil), cfg.EnvPass...)
	return &Sink{cfg: cfg}, nil
}

// ID is "exec:" and the command line.
func (s *Sink) ID() string { return "exec:" + strings.Join(s.cfg.Command, " ") }

// Describe names the command and how it gets the secret.
func (s *Sink) Describe() string {
	via := "on stdin"
	if s.cfg.Env != "" {
		via = "in $" + s.cfg.Env
	}
	if s.cfg.UsernameEnv != "" {
		via += ", username in $" + s.cfg.UsernameEnv
	}
	return fmt.Sprintf("command %q (secret %s)", strings.Join(s.cfg.Command, " "), via)
}

// Get always answers ErrNotReadable: a command cannot be read back.
func (s *Sink) Get(context.Context) (secret.Credential, error) {
	return secret.Credential{}, &sink.Error{Kind: "exec", Err: fmt.Errorf("%s: %w", s.Describe(), sink.ErrNotReadable)}
}

// Put runs the command with c; it always reports changed=true on success.
func (s *Sink) Put(ctx context.Context, c secret.Credential) (bool, error) {
	v := c.Token
	if v.IsZero() {
		return false, s.wrap(errors.New("refusing to deliver an empty secret"))
	}
	if s.cfg.UsernameEnv != "" && c.Username == "" {
		return false, &sink.Error{Kind: "exec", Err: fmt.Errorf("%s: the token has no username to pass", s.Describe()),
			Hint: "only a deploy token has a username: remove username_env for this token"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, s.wrap(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	cmd := osexec.CommandContext(ctx, s.cfg.Command[0], s.cfg.Command[1:]...)
	cmd.Dir = s.cfg.Dir
	cmd.Env = s.env(ctx, c)
	if s.cfg.Env == "" {
		in := v.Reveal()
		if s.cfg.Newline {
			in += "\n"
		}
		cmd.Stdin = strings.NewReader(in)
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	cmd.Stdout = nil // discarded: a hook that prints the secret must not get it into our output
	setProcessGroup(cmd)
	// Grandchildren that keep stderr open must not hold Put past the kill.
	cmd.WaitDelay = time.Second

	err := cmd.Run()
	if err == nil {
		return true, nil
	}
	tail := stderr.tail(s.scrub(v))
	var exitErr *osexec.ExitError
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return false, &sink.Error{Kind: "exec", Err: fmt.Errorf("%s: killed after the %v timeout%s", s.Describe(), s.cfg.Timeout, tail),
			Hint: "make the command finish sooner, or raise the sink's timeout"}
	case ctx.Err() != nil:
		return false, s.wrap(fmt.Errorf("%w%s", ctx.Err(), tail))
	case errors.As(err, &exitErr):
		return false, &sink.Error{Kind: "exec", Err: fmt.Errorf("%s: exit code %d%s", s.Describe(), exitErr.ExitCode(), tail)}
	case errors.Is(err, osexec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return false, &sink.Error{Kind: "exec", Err: fmt.Errorf("%s: %s", s.Describe(), s.scrub(v)(err.Error())),
			Hint: "install the program or give its absolute path"}
	default:
		return false, s.wrap(errors.New(s.scrub(v)(err.Error())))
	}
}

// scrub removes v and every secret of the process from text.
func (s *Sink) scrub(v secret.Secret) func(string) string {
	return func(text string) string { return s.cfg.Redactor.Scrub(sink.Scrub(text, v)) }
}

// env is PassedEnv and EnvPass (those that are set) from tokenwarden's
// environment, plus the token's metadata and, with Env, the secret and,
// with UsernameEnv, its username.
func (s *Sink) env(ctx context.Context, c secret.Credential) []string {
	var env []string
	seen := map[string]bool{}
	for _, name := range append(append([]string(nil), PassedEnv...), s.cfg.EnvPass...) {
		if val, ok := os.LookupEnv(name); ok && !seen[name] {
			seen[name] = true
			env = append(env, name+"="+val)
		}
	}
	meta := s.cfg.Meta
	if m, ok := sink.MetaFrom(ctx); ok {
		if m.TokenName != "" {
			meta.TokenName = m.TokenName
		}
		if !m.ExpiresAt.IsZero() {
			meta.ExpiresAt = m.ExpiresAt
		}
	}
	if meta.TokenName != "" {
		env = append(env, "TOKENWARDEN_TOKEN_NAME="+meta.TokenName)
	}
	if !meta.ExpiresAt.IsZero() {
		env = append(env, "TOKENWARDEN_TOKEN_EXPIRES_AT="+meta.ExpiresAt.UTC().Format(time.DateOnly))
	}
	if s.cfg.UsernameEnv != "" {
		env = append(env, s.cfg.UsernameEnv+"="+c.Username)
	}
	if s.cfg.Env != "" {
		env = append(env, s.cfg.Env+"="+c.Token.Reveal())
	}
	return env
}

func (s *Sink) wrap(err error) error {
	return &sink.Error{Kind: "exec", Err: fmt.Errorf("%s: %w", s.Describe(), err)}
}

func fail(err error, hint string) error { return &sink.Error{Kind: "exec", Err: err, Hint: hint} }

// tailBuffer keeps the last stderrBytes*4 bytes a command wrote.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - 4*stderrBytes; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

// tail formats the last lines of stderr for an error, or "", with the
// secrets scrubbed before it is cut short: a cut through a secret would
// otherwise leave a piece of it that scrub no longer recognises.
func (t *tailBuffer) tail(scrub func(string) string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := bytes.TrimRight(t.b, "\r\n\t ")
	if len(b) == 0 {
		return ""
	}
	lines := strings.Split(scrub(string(b)), "\n")
	if len(lines) > stderrLines {
		lines = lines[len(lines)-stderrLines:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > stderrBytes {
		out = "…" + out[len(out)-stderrBytes:]
	}
	return "; stderr: " + out
}
