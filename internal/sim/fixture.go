package sim

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fixture YAML (unknown keys are rejected with their line):
//
//	now: 2026-11-25T12:00:00Z        # optional; needs a *clock.Fake
//	users:
//	  - username: alice
//	    admin: false
//	    tokens: [{name: laptop, scopes: [read_api], expires_at: 2027-01-01, secret: glpat-…}]
//	groups:
//	  - path: platform
//	    name: Platform               # optional, defaults to path
//	    members: [{user: alice, access_level: 50}]
//	    tokens: [{name: ci, description: "", scopes: [api], access_level: 50,
//	              created_at: 2026-01-01, expires_at: 2026-11-28,
//	              last_used_at: 2026-07-01T00:00:00Z, revoked: false}]
//	    variables: [{key: X, value: yyyyyyyy, masked: true, protected: false,
//	                 hidden: false, raw: false, environment_scope: "*",
//	                 variable_type: env_var, description: …}]
//	    service_accounts:            # top-level groups only
//	      - {username: svc-ci, tokens: [{name: ci, scopes: [api], secret: glpat-…}]}
//	    subgroups: [ …groups… ]
//	    projects:
//	      - {path: app, members: […], tokens: […], variables: […]}
//	projects:                          # optional: projects in an existing group
//	  - {namespace: platform/infra, path: tool}

type fixture struct {
	Now      *fixtureTime            `yaml:"now"`
	Users    []lined[fixtureUser]    `yaml:"users"`
	Groups   []lined[fixtureGroup]   `yaml:"groups"`
	Projects []lined[fixtureProject] `yaml:"projects"`
}

type fixtureUser struct {
	Username string                `yaml:"username"`
	Admin    bool                  `yaml:"admin"`
	Tokens   []lined[fixtureToken] `yaml:"tokens"`
	// ServiceAccount makes an instance service account of that username.
	ServiceAccount bool `yaml:"service_account"`
}

// fixtureResource is what a group and a project of the fixture both hold.
type fixtureResource struct {
	Path         string                      `yaml:"path"`
	Name         string                      `yaml:"name"`
	Members      []lined[fixtureMember]      `yaml:"members"`
	Tokens       []lined[fixtureToken]       `yaml:"tokens"`
	Variables    []lined[fixtureVariable]    `yaml:"variables"`
	DeployTokens []lined[fixtureDeployToken] `yaml:"deploy_tokens"`
	Runners      []lined[fixtureRunner]      `yaml:"runners"`
}

type fixtureGroup struct {
	fixtureResource `yaml:",inline"`
	Subgroups       []lined[fixtureGroup]   `yaml:"subgroups"`
	Projects        []lined[fixtureProject] `yaml:"projects"`
	// ServiceAccounts are service accounts the (top-level) group
	// provisioned, by username, with their tokens.
	ServiceAccounts []lined[fixtureUser] `yaml:"service_accounts"`
}

type fixtureProject struct {
	fixtureResource `yaml:",inline"`
	Namespace       string                  `yaml:"namespace"`
	Triggers        []lined[fixtureTrigger] `yaml:"triggers"`
}

type fixtureMember struct {
	User        string `yaml:"user"`
	AccessLevel int    `yaml:"access_level"`
}

type fixtureToken struct {
	Name        string       `yaml:"name"`
	Description string       `yaml:"description"`
	Scopes      []string     `yaml:"scopes"`
	AccessLevel int          `yaml:"access_level"`
	CreatedAt   *fixtureTime `yaml:"created_at"`
	ExpiresAt   *fixtureTime `yaml:"expires_at"`
	LastUsedAt  *fixtureTime `yaml:"last_used_at"`
	Revoked     bool         `yaml:"revoked"`
	Secret      string       `yaml:"secret"`
}

type fixtureVariable struct {
	Key              string  `yaml:"key"`
	Value            string  `yaml:"value"`
	VariableType     string  `yaml:"variable_type"`
	Protected        bool    `yaml:"protected"`
	Masked           bool    `yaml:"masked"`
	Hidden           bool    `yaml:"hidden"`
	Raw              bool    `yaml:"raw"`
	EnvironmentScope string  `yaml:"environment_scope"`
	Description      *string `yaml:"description"`
}

// fixtureTime accepts a date (2026-11-25) or an RFC 3339 time.
type fixtureTime struct{ time.Time }

func (t *fixtureTime) UnmarshalYAML(n *yaml.Node) error {
	for _, layout := range []string{time.DateOnly, time.RFC3339Nano} {
		if v, err := time.Parse(layout, n.Value); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("line %d: %q is not a date (YYYY-MM-DD) or RFC 3339 time", n.Line, n.Value)
}

func (t *fixtureTime) ptr() *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

// value is the time, or the zero time when the key is absent (a spec's
// "now").
func (t *fixtureTime) value() time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// lined is one entry of a fixture list, v, with the line it starts on for
// the errors of loading it. It decodes v strictly: Node.Decode does not
// inherit the decoder's KnownFields, so a key that T has no field for is
// rejected here, naming its line and T without its "fixture" prefix.
type lined[T any] struct {
	line int
	v    T
}

func (l *lined[T]) UnmarshalYAML(n *yaml.Node) error {
	l.line = n.Line
	if n.Kind == yaml.MappingNode {
		rt := reflect.TypeFor[T]()
		known := yamlKeys(rt)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(known, k.Value) {
				return fmt.Errorf("line %d: field %s not found in %s (known: %s)", k.Line, k.Value,
					strings.TrimPrefix(rt.Name(), "fixture"), strings.Join(known, ", "))
			}
		}
	}
	return n.Decode(&l.v)
}

// errorf is an error of loading the entry, naming its fixture line.
func (l lined[T]) errorf(format string, args ...any) error {
	return fmt.Errorf("sim fixture: line %d: "+format, append([]any{l.line}, args...)...)
}

// yamlKeys lists the keys a struct type decodes, in field order, those of
// its inline fields included.
func yamlKeys(rt reflect.Type) []string {
	var keys []string
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case opts == "inline":
			keys = append(keys, yamlKeys(f.Type)...)
		case name != "":
			keys = append(keys, name)
		}
	}
	return keys
}

// LoadFixture adds the users, groups, projects, tokens and variables of a
// YAML fixture to the instance. Errors name the fixture line.
func (s *Server) LoadFixture(r io.Reader) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f fixture
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("sim fixture: %w", err)
	}
	if f.Now != nil {
		fake, ok := s.clock.(settableClock)
		if !ok {
			return fmt.Errorf("sim fixture: now: %w", errNotFake)
		}
		fake.Set(f.Now.Time)
	}
	for _, u := range f.Users {
		usr, ok := s.userNamed(u.v.Username)
		if !ok {
			var err error
			if u.v.ServiceAccount {
				usr, err = s.createServiceAccountNamed(0, u.v.Username)
			} else {
				usr, err = s.CreateUser(u.v.Username, u.v.Admin)
			}
			if err != nil {
				return u.errorf("%w", err)
			}
		}
		if err := s.loadUserTokens(usr.ID, u.v.Tokens); err != nil {
			return err
		}
	}
	for _, g := range f.Groups {
		if err := s.loadGroup(g, 0); err != nil {
			return err
		}
	}
	for _, p := range f.Projects {
		grp, ok := s.GroupByPath(p.v.Namespace)
		if !ok {
			return p.errorf("no group %q for project %q", p.v.Namespace, p.v.Path)
		}
		if err := s.loadProject(p, grp.ID); err != nil {
			return err
		}
	}
	return nil
}

func (t fixtureToken) spec() TokenSpec {
	return TokenSpec{Name: t.Name, Description: t.Description, Scopes: t.Scopes, AccessLevel: t.AccessLevel,
		CreatedAt: t.CreatedAt.value(), ExpiresAt: t.ExpiresAt.ptr(), LastUsedAt: t.LastUsedAt.ptr(), Revoked: t.Revoked, Secret: t.Secret}
}

func (s *Server) userNamed(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.userByName(name); u != nil {
		return userSnap(u), true
	}
	return User{}, false
}

func (s *Server) loadUserTokens(userID int64, tokens []lined[fixtureToken]) error {
	for _, t := range tokens {
		if _, _, err := s.CreatePersonalToken(userID, t.v.spec()); err != nil {
			return t.errorf("%w", err)
		}
	}
	return nil
}

func (s *Server) loadGroup(fg lined[fixtureGroup], parentID int64) error {
	g, err := s.CreateGroup(fg.v.Path, parentID)
	if err != nil {
		return fg.errorf("%w", err)
	}
	if err := s.loadResource("group", g.ID, &fg.v.fixtureResource, nil); err != nil {
		return err
	}
	for _, sa := range fg.v.ServiceAccounts {
		if parentID != 0 {
			return sa.errorf("service accounts belong to top-level groups")
		}
		usr, err := s.createServiceAccountNamed(g.ID, sa.v.Username)
		if err != nil {
			return sa.errorf("%w", err)
		}
		if err := s.loadUserTokens(usr.ID, sa.v.Tokens); err != nil {
			return err
		}
	}
	for _, sub := range fg.v.Subgroups {
		if err := s.loadGroup(sub, g.ID); err != nil {
			return err
		}
	}
	for _, p := range fg.v.Projects {
		if err := s.loadProject(p, g.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) loadProject(fp lined[fixtureProject], namespaceID int64) error {
	p, err := s.CreateProject(fp.v.Path, namespaceID)
	if err != nil {
		return fp.errorf("%w", err)
	}
	return s.loadResource("project", p.ID, &fp.v.fixtureResource, fp.v.Triggers)
}

// loadResource gives a new group or project (of kind, id) the name and what
// it holds in the fixture, and a project its triggers.
func (s *Server) loadResource(kind string, id int64, r *fixtureResource, triggers []lined[fixtureTrigger]) error {
	if r.Name != "" {
		s.mu.Lock()
		if kind == "group" {
			s.st.groups[id].Name = r.Name
		} else {
			s.st.projects[id].Name = r.Name
		}
		s.mu.Unlock()
	}
	for _, m := range r.Members {
		u, ok := s.userNamed(m.v.User)
		if !ok {
			return m.errorf("unknown user %q (list it under users:)", m.v.User)
		}
		if err := s.AddMember(kind, id, u.ID, m.v.AccessLevel); err != nil {
			return m.errorf("%w", err)
		}
	}
	for _, t := range r.Tokens {
		if _, _, err := s.CreateAccessToken(kind, id, t.v.spec()); err != nil {
			return t.errorf("%w", err)
		}
	}
	for _, l := range r.Variables {
		fv := l.v
		v := &variable{Kind: kind, ResourceID: id, Key: fv.Key, Value: fv.Value, VariableType: fv.VariableType,
			Protected: fv.Protected, Masked: fv.Masked || fv.Hidden, Hidden: fv.Hidden, Raw: fv.Raw,
			EnvironmentScope: fv.EnvironmentScope, Description: fv.Description}
		if v.VariableType == "" {
			v.VariableType = "env_var"
		}
		if v.EnvironmentScope == "" {
			v.EnvironmentScope = "*"
		}
		if err := s.addVariable(v); err != nil {
			return l.errorf("%w", err)
		}
	}
	return s.loadCredentials(kind, id, r.DeployTokens, triggers, r.Runners)
}

// addVariable validates and stores v (fixture path).
func (s *Server) addVariable(v *variable) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.VariableType != "env_var" && v.VariableType != "file" {
		return fmt.Errorf("variable %s: variable_type must be env_var or file", v.Key)
	}
	if errs := s.validateVariable(v, nil); errs != nil {
		var msgs []string
		for field, es := range errs {
			for _, e := range es {
				msgs = append(msgs, field+" "+e)
			}
		}
		sort.Strings(msgs)
		return fmt.Errorf("variable %s: %s", v.Key, strings.Join(msgs, "; "))
	}
	s.st.variables = append(s.st.variables, v)
	return nil
}
