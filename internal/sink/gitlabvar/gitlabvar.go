// Package gitlabvar is the sink that delivers a secret into a GitLab CI/CD
// variable of a project or group — and the username of a token that has one
// (a deploy token) into a second variable. It compares before it writes, keeps the
// configured masked/protected/hidden/raw/environment scope, creates the
// variable when it is missing, and marks the variable as its own in the
// description so two managed tokens never fight over one variable.
package gitlabvar

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// Config names the variable and the attributes it must have: a
// "gitlab_variable:" entry under deliver in the config file.
type Config struct {
	Group   string `yaml:"group"` // full path — exactly one of Group, Project
	Project string `yaml:"project"`
	Key     string `yaml:"key"`
	// UsernameKey is a second variable, with the same protected flag and
	// environment scope, that gets the username of a token that has one
	// (a deploy token). It is never masked: a username is not secret.
	UsernameKey string `yaml:"username_key"`
	Masked      bool   `yaml:"masked"`
	// Protected: only protected branches and tags see it.
	Protected bool `yaml:"protected"`
	// Hidden: masked and hidden, GitLab never shows the value again; implies Masked.
	Hidden           bool   `yaml:"hidden"`
	Raw              bool   `yaml:"raw"`
	EnvironmentScope string `yaml:"environment_scope"` // "*" unless set
	Description      string `yaml:"description"`       // human text; the ownership marker is appended
}

// DefaultConfig is a Config with the defaults a config file starts from.
func DefaultConfig() *Config { return &Config{} }

// Complete fills in what the settings imply: scope "*", masked when hidden,
// paths without surrounding slashes.
func (c *Config) Complete() {
	if c.EnvironmentScope == "" {
		c.EnvironmentScope = "*"
	}
	if c.Hidden {
		c.Masked = true // GitLab: masked_and_hidden
	}
	c.Group, c.Project = strings.Trim(c.Group, "/"), strings.Trim(c.Project, "/")
}

// Resource is the group or project that holds the variable: "group" or
// "project", and its full path.
func (c *Config) Resource() (kind, path string) {
	if c.Project != "" {
		return "project", c.Project
	}
	return "group", c.Group
}

// Validate reports every problem of c. New refuses the first; config
// reports them all, each at its line.
func (c *Config) Validate() []problem.Problem {
	var ps problem.List
	switch kind, path := c.Resource(); {
	case c.Group == "" && c.Project == "":
		ps.Add("", "add group: full/path or project: full/path", "group or project is required")
	case c.Group != "" && c.Project != "":
		ps.Add("", "a variable belongs to one group or one project: keep one", "both group and project are set")
	case !gitlab.IsFullPath(path):
		ps.Add(kind, "write the full path as in GitLab's URL, e.g. platform/infra", "%s %q is not a GitLab path", kind, path)
	}
	switch {
	case c.Key == "":
		ps.Add("", "add key: THE_VARIABLE_NAME", "key is required")
	case !keyRE.MatchString(c.Key):
		ps.Add("key", "a CI/CD variable key is at most 255 letters, digits and _", "invalid key %q", c.Key)
	}
	switch {
	case c.UsernameKey == "":
	case !keyRE.MatchString(c.UsernameKey):
		ps.Add("username_key", "a CI/CD variable key is at most 255 letters, digits and _", "invalid username_key %q", c.UsernameKey)
	case c.UsernameKey == c.Key:
		ps.Add("username_key", "give the username its own variable, e.g. REGISTRY_USER", "username_key is the same variable as key")
	}
	return ps
}

// DeliversUsername names the setting that makes this entry deliver a
// username (config refuses it on a token that has none), or "".
func (c *Config) DeliversUsername() string {
	if c.UsernameKey != "" {
		return "username_key"
	}
	return ""
}

// Sink is one CI/CD variable in one environment scope.
type Sink struct {
	cfg    Config
	owner  string
	client *gitlab.Client
	res    gitlab.Resource // the project or group, by path
	mu     sync.Mutex      // one read-compare-write at a time per variable
}

var _ sink.Sink = (*Sink)(nil)

var (
	keyRE    = regexp.MustCompile(`^[A-Za-z0-9_]{1,255}$`)
	maskedRE = regexp.MustCompile(`\A[a-zA-Z0-9_+=/@:.~-]{8,}\z`)
	rawRE    = regexp.MustCompile(`\A\S{8,}\z`)
	markerRE = regexp.MustCompile(`(?:; )?managed by tokenwarden \(([^()]*)\)`)
)

// maxDescription is GitLab's limit on a variable's description.
const maxDescription = 255

// New validates cfg. owner is the managed token's reference; it goes into
// the ownership marker.
func New(cfg Config, client *gitlab.Client, owner string) (*Sink, error) {
	cfg.Complete()
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fail(ps[0], ps[0].Hint)
	}
	if owner == "" || strings.ContainsAny(owner, "()") {
		return nil, fail(fmt.Errorf("invalid owner reference %q", owner), "")
	}
	if client == nil {
		return nil, fail(errors.New("no GitLab client"), "")
	}
	s := &Sink{cfg: cfg, owner: owner, client: client}
	kind, path := s.kind()
	s.res = gitlab.Resource{Type: kind, Path: path}
	return s, nil
}

func (s *Sink) kind() (string, string) { return s.cfg.Resource() }

// ID is "gitlab_variable:<project|group>:<path>:<key>:<scope>".
func (s *Sink) ID() string {
	k, p := s.kind()
	return "gitlab_variable:" + k + ":" + p + ":" + s.cfg.Key + ":" + s.cfg.EnvironmentScope
}

// Describe names the variable (or the token's and the username's) for humans.
func (s *Sink) Describe() string {
	if s.cfg.UsernameKey != "" {
		k, p := s.kind()
		return fmt.Sprintf("CI/CD variables %s and %s (%s %s, scope %s)", s.cfg.Key, s.cfg.UsernameKey, k, p, s.cfg.EnvironmentScope)
	}
	return s.tokenVar().describe(s)
}

// variable is one CI/CD variable the sink writes: the token's or the
// username's. The username's has the token's protected flag, raw flag and
// environment scope, and is neither masked nor hidden: it is not secret, and
// a short one could not be masked (docs/gitlab-api.md, CI/CD variables).
type variable struct {
	key            string
	masked, hidden bool
}

func (s *Sink) tokenVar() variable    { return variable{s.cfg.Key, s.cfg.Masked, s.cfg.Hidden} }
func (s *Sink) usernameVar() variable { return variable{key: s.cfg.UsernameKey} }

func (v variable) describe(s *Sink) string {
	k, p := s.kind()
	return fmt.Sprintf("CI/CD variable %s (%s %s, scope %s)", v.key, k, p, s.cfg.EnvironmentScope)
}

// Get reads the variable (and the username's): ErrNotFound when one does
// not exist, ErrNotReadable when the token's is hidden.
func (s *Sink) Get(ctx context.Context) (secret.Credential, error) {
	tok, err := s.read(ctx, s.tokenVar())
	if err != nil {
		return secret.Credential{}, err
	}
	c := secret.TokenOnly(secret.New(tok))
	if s.cfg.UsernameKey != "" {
		if c.Username, err = s.read(ctx, s.usernameVar()); err != nil {
			return secret.Credential{}, err
		}
	}
	return c, nil
}

func (s *Sink) read(ctx context.Context, v variable) (string, error) {
	cur, err := s.client.Variable(ctx, s.res, v.key, s.cfg.EnvironmentScope)
	if gitlab.IsNotFound(err) {
		return "", s.wrapVar(v, sink.ErrNotFound)
	}
	if err != nil {
		return "", s.apiError(v, "read", err)
	}
	if cur.Hidden {
		return "", s.wrapVar(v, sink.ErrNotReadable)
	}
	return cur.Value, nil
}

// Put writes c's token (and username) unless the variables already hold
// them with the configured attributes and marker. The username's variable
// is written first: when the token's write then fails, the error says so,
// and the next Put — which compares each variable — writes only the token.
func (s *Sink) Put(ctx context.Context, c secret.Credential) (bool, error) {
	if err := s.checkValue(c.Token); err != nil {
		return false, err
	}
	if s.cfg.UsernameKey != "" && c.Username == "" {
		return false, &sink.Error{Kind: "gitlab-variable", Err: fmt.Errorf("%s: the token has no username to write", s.Describe()),
			Hint: "only a deploy token has a username: remove username_key for this token"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, s.wrap(err)
	}
	userChanged := false
	if s.cfg.UsernameKey != "" {
		var err error
		if userChanged, err = s.put(ctx, s.usernameVar(), c.Username); err != nil {
			return false, err
		}
	}
	changed, err := s.put(ctx, s.tokenVar(), c.Token.Reveal(), c.Token)
	if err != nil && userChanged {
		var se *sink.Error
		if errors.As(err, &se) {
			se.Err = fmt.Errorf("%w (%s already holds the new username; the next delivery writes the token)", se.Err, s.cfg.UsernameKey)
		}
	}
	if err != nil {
		return false, err
	}
	return changed || userChanged, nil
}

// put writes value into variable v unless it already holds it with the
// configured attributes and marker.
func (s *Sink) put(ctx context.Context, v variable, value string, secrets ...secret.Secret) (bool, error) {
	cur, err := s.client.Variable(ctx, s.res, v.key, s.cfg.EnvironmentScope)
	if gitlab.IsNotFound(err) {
		created, cerr := s.client.CreateVariable(ctx, s.res, s.want(v, value, ""))
		if cerr == nil {
			return true, s.readBack(v, created, value)
		}
		if !alreadyTaken(cerr) {
			return false, s.apiError(v, "create", cerr, secrets...)
		}
		// Someone created it between our read and our create: compare and
		// update it like any existing variable.
		cur, err = s.client.Variable(ctx, s.res, v.key, s.cfg.EnvironmentScope)
	}
	if err != nil {
		return false, s.apiError(v, "read", err, secrets...)
	}
	if other, ok := ownerOf(cur.Description); ok && other != s.owner {
		return false, &sink.Error{Kind: "gitlab-variable",
			Err:  fmt.Errorf("%s is managed by tokenwarden for %s, not for %s; refusing to overwrite it", v.describe(s), other, s.owner),
			Hint: "deliver each token to its own variable: change the key or environment scope, or remove the variable from the other token's config and clear its description"}
	}
	if cur.Hidden != v.hidden {
		have, want := "visible", "hidden"
		if cur.Hidden {
			have, want = want, have
		}
		return false, &sink.Error{Kind: "gitlab-variable",
			Err:  fmt.Errorf("%s is %s but configured %s, and GitLab cannot change that on an existing variable", v.describe(s), have, want),
			Hint: "delete the variable in GitLab (tokenwarden recreates it), or set hidden to match"}
	}
	want := s.want(v, value, cur.Description)
	if !cur.Hidden && cur == want {
		return false, nil
	}
	updated, err := s.client.UpdateVariable(ctx, s.res, want)
	if err != nil {
		return false, s.apiError(v, "update", err, secrets...)
	}
	return true, s.readBack(v, updated, value)
}

// want is variable v as configured holding value; an unmarked description
// already on the variable is kept when the config gives none.
func (s *Sink) want(v variable, value, existing string) gitlab.Variable {
	base := s.cfg.Description
	if base == "" {
		base = strings.TrimSpace(markerRE.ReplaceAllString(existing, ""))
	}
	marker := "managed by tokenwarden (" + s.owner + ")"
	desc := marker
	if base != "" {
		if r := []rune(base); len(r)+2+len(marker) > maxDescription {
			base = string(r[:max(0, maxDescription-2-len([]rune(marker))-1)]) + "…"
		}
		desc = base + "; " + marker
	}
	return gitlab.Variable{
		Key: v.key, Value: value, Masked: v.masked, Protected: s.cfg.Protected, Hidden: v.hidden,
		Raw: s.cfg.Raw, Scope: s.cfg.EnvironmentScope, Description: desc,
	}
}

// readBack checks what GitLab answered with; hidden values never come back.
func (s *Sink) readBack(v variable, got gitlab.Variable, value string) error {
	if got.Hidden || got.Value == value {
		return nil
	}
	return s.wrapVar(v, errors.New("GitLab answered the write with a different value than was sent"))
}

// checkValue rejects, before any request, a value GitLab would refuse to mask.
func (s *Sink) checkValue(v secret.Secret) error {
	if v.IsZero() {
		return s.wrap(errors.New("refusing to write an empty secret"))
	}
	if !s.cfg.Masked {
		return nil
	}
	if s.cfg.Raw && !rawRE.MatchString(v.Reveal()) {
		return &sink.Error{Kind: "gitlab-variable", Err: fmt.Errorf("%s: the value cannot be masked", s.Describe()),
			Hint: "GitLab masks only values of at least 8 characters without whitespace"}
	}
	if !s.cfg.Raw && !maskedRE.MatchString(v.Reveal()) {
		return &sink.Error{Kind: "gitlab-variable", Err: fmt.Errorf("%s: the value cannot be masked", s.Describe()),
			Hint: "GitLab masks only values of at least 8 characters from a-z A-Z 0-9 _ + = / @ : . ~ -; set raw: true to allow others"}
	}
	return nil
}

// ownerOf returns the owner named by the description's marker.
func ownerOf(desc string) (string, bool) {
	m := markerRE.FindStringSubmatch(desc)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func alreadyTaken(err error) bool {
	ge, ok := gitlab.AsError(err)
	return ok && ge.Status == 400 && strings.Contains(ge.APIMessage, "has already been taken")
}

// apiError explains a failed call on variable v in the operator's terms.
func (s *Sink) apiError(v variable, op string, err error, secrets ...secret.Secret) error {
	kind, path := s.kind()
	e := &sink.Error{Kind: "gitlab-variable"}
	status := gitlab.StatusOf(err)
	msg := err.Error()
	if ge, ok := gitlab.AsError(err); ok {
		msg = ge.Reason // the operation is named below
	}
	msg = sink.Scrub(msg, secrets...)
	switch {
	case gitlab.IsNotFound(err):
		msg = fmt.Sprintf("%s %s not found", kind, path)
		e.Hint = fmt.Sprintf("check the %s path; the managing token must be able to see the %s", kind, kind)
	case status == 401:
		e.Hint = "the managing token is invalid, expired or revoked; check gitlab.token_env (tokenwarden doctor can tell which)"
	case status == 403 && kind == "project":
		e.Hint = fmt.Sprintf("writing CI/CD variables needs the Maintainer role on project %s (and the api scope)", path)
	case status == 403:
		e.Hint = fmt.Sprintf("writing group CI/CD variables needs the Owner role on group %s (and the api scope)", path)
	case status == 409:
		e.Hint = "the key exists in several environment scopes; set environment_scope on this sink"
	}
	e.Err = fmt.Errorf("%s: %s: %s", v.describe(s), op, msg)
	return e
}

func (s *Sink) wrap(err error) error {
	return &sink.Error{Kind: "gitlab-variable", Err: fmt.Errorf("%s: %w", s.Describe(), err)}
}

func (s *Sink) wrapVar(v variable, err error) error {
	return &sink.Error{Kind: "gitlab-variable", Err: fmt.Errorf("%s: %w", v.describe(s), err)}
}

func fail(err error, hint string) error {
	return &sink.Error{Kind: "gitlab-variable", Err: err, Hint: hint}
}
