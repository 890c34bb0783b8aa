// Package gitlabvar is the sink that delivers a secret into a GitLab CI/CD
// variable of a project or group. It compares before it writes, keeps the
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
	Masked  bool   `yaml:"masked"`
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
	var ps []problem.Problem
	add := func(key, hint, format string, a ...any) { ps = append(ps, problem.Errorf(key, hint, format, a...)) }
	switch kind, path := c.Resource(); {
	case c.Group == "" && c.Project == "":
		add("", "add group: full/path or project: full/path", "group or project is required")
	case c.Group != "" && c.Project != "":
		add("", "a variable belongs to one group or one project: keep one", "both group and project are set")
	case !gitlab.IsFullPath(path):
		add(kind, "write the full path as in GitLab's URL, e.g. platform/infra", "%s %q is not a GitLab path", kind, path)
	}
	switch {
	case c.Key == "":
		add("", "add key: THE_VARIABLE_NAME", "key is required")
	case !keyRE.MatchString(c.Key):
		add("key", "a CI/CD variable key is at most 255 letters, digits and _", "invalid key %q", c.Key)
	}
	return ps
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

// Describe names the variable for humans.
func (s *Sink) Describe() string {
	k, p := s.kind()
	return fmt.Sprintf("CI/CD variable %s (%s %s, scope %s)", s.cfg.Key, k, p, s.cfg.EnvironmentScope)
}

// Get reads the variable: ErrNotFound when it does not exist,
// ErrNotReadable when it is hidden.
func (s *Sink) Get(ctx context.Context) (secret.Secret, error) {
	cur, err := s.client.Variable(ctx, s.res, s.cfg.Key, s.cfg.EnvironmentScope)
	if gitlab.IsNotFound(err) {
		return secret.Secret{}, s.wrap(sink.ErrNotFound)
	}
	if err != nil {
		return secret.Secret{}, s.apiError("read", err)
	}
	if cur.Hidden {
		return secret.Secret{}, s.wrap(sink.ErrNotReadable)
	}
	return secret.New(cur.Value), nil
}

// Put writes v unless the variable already holds it with the configured
// attributes and marker.
func (s *Sink) Put(ctx context.Context, v secret.Secret) (bool, error) {
	if err := s.checkValue(v); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, s.wrap(err)
	}
	cur, err := s.client.Variable(ctx, s.res, s.cfg.Key, s.cfg.EnvironmentScope)
	if gitlab.IsNotFound(err) {
		created, cerr := s.client.CreateVariable(ctx, s.res, s.want(v, ""))
		if cerr == nil {
			return true, s.readBack(created, v)
		}
		if !alreadyTaken(cerr) {
			return false, s.apiError("create", cerr, v)
		}
		// Someone created it between our read and our create: compare and
		// update it like any existing variable.
		cur, err = s.client.Variable(ctx, s.res, s.cfg.Key, s.cfg.EnvironmentScope)
	}
	if err != nil {
		return false, s.apiError("read", err, v)
	}
	if other, ok := ownerOf(cur.Description); ok && other != s.owner {
		return false, &sink.Error{Kind: "gitlab-variable",
			Err:  fmt.Errorf("%s is managed by tokenwarden for %s, not for %s; refusing to overwrite it", s.Describe(), other, s.owner),
			Hint: "deliver each token to its own variable: change the key or environment scope, or remove the variable from the other token's config and clear its description"}
	}
	if cur.Hidden != s.cfg.Hidden {
		have, want := "visible", "hidden"
		if cur.Hidden {
			have, want = want, have
		}
		return false, &sink.Error{Kind: "gitlab-variable",
			Err:  fmt.Errorf("%s is %s but configured %s, and GitLab cannot change that on an existing variable", s.Describe(), have, want),
			Hint: "delete the variable in GitLab (tokenwarden recreates it), or set hidden to match"}
	}
	want := s.want(v, cur.Description)
	if !cur.Hidden && cur == want {
		return false, nil
	}
	updated, err := s.client.UpdateVariable(ctx, s.res, want)
	if err != nil {
		return false, s.apiError("update", err, v)
	}
	return true, s.readBack(updated, v)
}

// want is the variable as configured holding v; an unmarked description
// already on the variable is kept when the config gives none.
func (s *Sink) want(v secret.Secret, existing string) gitlab.Variable {
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
		Key: s.cfg.Key, Value: v.Reveal(), Masked: s.cfg.Masked, Protected: s.cfg.Protected, Hidden: s.cfg.Hidden,
		Raw: s.cfg.Raw, Scope: s.cfg.EnvironmentScope, Description: desc,
	}
}

// readBack checks what GitLab answered with; hidden values never come back.
func (s *Sink) readBack(got gitlab.Variable, v secret.Secret) error {
	if got.Hidden || got.Value == v.Reveal() {
		return nil
	}
	return s.wrap(errors.New("GitLab answered the write with a different value than was sent"))
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

// apiError explains a failed call in the operator's terms.
func (s *Sink) apiError(op string, err error, secrets ...secret.Secret) error {
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
	e.Err = fmt.Errorf("%s: %s: %s", s.Describe(), op, msg)
	return e
}

func (s *Sink) wrap(err error) error {
	return &sink.Error{Kind: "gitlab-variable", Err: fmt.Errorf("%s: %w", s.Describe(), err)}
}

func fail(err error, hint string) error {
	return &sink.Error{Kind: "gitlab-variable", Err: err, Hint: hint}
}
