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
	Now      *fixtureTime     `yaml:"now"`
	Users    []fixtureUser    `yaml:"users"`
	Groups   []fixtureGroup   `yaml:"groups"`
	Projects []fixtureProject `yaml:"projects"`
}

type fixtureUser struct {
	line     int
	Username string         `yaml:"username"`
	Admin    bool           `yaml:"admin"`
	Tokens   []fixtureToken `yaml:"tokens"`
	// ServiceAccount makes an instance service account of that username.
	ServiceAccount bool `yaml:"service_account"`
}

type fixtureGroup struct {
	line      int
	Path      string            `yaml:"path"`
	Name      string            `yaml:"name"`
	Members   []fixtureMember   `yaml:"members"`
	Tokens    []fixtureToken    `yaml:"tokens"`
	Variables []fixtureVariable `yaml:"variables"`
	Subgroups []fixtureGroup    `yaml:"subgroups"`
	Projects  []fixtureProject  `yaml:"projects"`

	DeployTokens []fixtureDeployToken `yaml:"deploy_tokens"`
	Runners      []fixtureRunner      `yaml:"runners"`
	// ServiceAccounts are service accounts the (top-level) group
	// provisioned, by username, with their tokens.
	ServiceAccounts []fixtureUser `yaml:"service_accounts"`
}

type fixtureProject struct {
	line      int
	Path      string            `yaml:"path"`
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Members   []fixtureMember   `yaml:"members"`
	Tokens    []fixtureToken    `yaml:"tokens"`
	Variables []fixtureVariable `yaml:"variables"`

	DeployTokens []fixtureDeployToken `yaml:"deploy_tokens"`
	Triggers     []fixtureTrigger     `yaml:"triggers"`
	Runners      []fixtureRunner      `yaml:"runners"`
}

type fixtureMember struct {
	line        int
	User        string `yaml:"user"`
	AccessLevel int    `yaml:"access_level"`
}

type fixtureToken struct {
	line        int
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
	line             int
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

// decodeStrict decodes a mapping node into v (a pointer to a struct with yaml
// tags), rejecting unknown keys. Node.Decode does not inherit the decoder's
// KnownFields, so each fixture type checks its own keys.
func decodeStrict[T any](n *yaml.Node, what string, v *T, line *int) error {
	*line = n.Line
	if n.Kind == yaml.MappingNode {
		rt := reflect.TypeFor[T]()
		var known []string
		for i := range rt.NumField() {
			if tag := strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" {
				known = append(known, tag)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(known, k.Value) {
				return fmt.Errorf("line %d: field %s not found in %s (known: %s)", k.Line, k.Value, what, strings.Join(known, ", "))
			}
		}
	}
	return n.Decode(v)
}

func (u *fixtureUser) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureUser
	return decodeStrict(n, "User", (*plain)(u), &u.line)
}

func (g *fixtureGroup) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureGroup
	return decodeStrict(n, "Group", (*plain)(g), &g.line)
}

func (p *fixtureProject) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureProject
	return decodeStrict(n, "Project", (*plain)(p), &p.line)
}

func (m *fixtureMember) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureMember
	return decodeStrict(n, "Member", (*plain)(m), &m.line)
}

func (t *fixtureToken) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureToken
	return decodeStrict(n, "Token", (*plain)(t), &t.line)
}

func (v *fixtureVariable) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureVariable
	return decodeStrict(n, "Variable", (*plain)(v), &v.line)
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
		usr, ok := s.userNamed(u.Username)
		if !ok {
			var err error
			if u.ServiceAccount {
				usr, err = s.createServiceAccountNamed(0, u.Username)
			} else {
				usr, err = s.CreateUser(u.Username, u.Admin)
			}
			if err != nil {
				return fmt.Errorf("sim fixture: line %d: %w", u.line, err)
			}
		}
		if err := s.loadUserTokens(usr.ID, u.Tokens); err != nil {
			return err
		}
	}
	for _, g := range f.Groups {
		if err := s.loadGroup(g, 0); err != nil {
			return err
		}
	}
	for _, p := range f.Projects {
		grp, ok := s.GroupByPath(p.Namespace)
		if !ok {
			return fmt.Errorf("sim fixture: line %d: no group %q for project %q", p.line, p.Namespace, p.Path)
		}
		if err := s.loadProject(p, grp.ID); err != nil {
			return err
		}
	}
	return nil
}

func (t fixtureToken) spec() TokenSpec {
	spec := TokenSpec{Name: t.Name, Description: t.Description, Scopes: t.Scopes, AccessLevel: t.AccessLevel,
		ExpiresAt: t.ExpiresAt.ptr(), LastUsedAt: t.LastUsedAt.ptr(), Revoked: t.Revoked, Secret: t.Secret}
	if t.CreatedAt != nil {
		spec.CreatedAt = t.CreatedAt.Time
	}
	return spec
}

func (s *Server) userNamed(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.userByName(name); u != nil {
		return userSnap(u), true
	}
	return User{}, false
}

func (s *Server) loadUserTokens(userID int64, tokens []fixtureToken) error {
	for _, t := range tokens {
		if _, _, err := s.CreatePersonalToken(userID, t.spec()); err != nil {
			return fmt.Errorf("sim fixture: line %d: %w", t.line, err)
		}
	}
	return nil
}

func (s *Server) loadGroup(fg fixtureGroup, parentID int64) error {
	g, err := s.CreateGroup(fg.Path, parentID)
	if err != nil {
		return fmt.Errorf("sim fixture: line %d: %w", fg.line, err)
	}
	if fg.Name != "" {
		s.mu.Lock()
		s.st.groups[g.ID].Name = fg.Name
		s.mu.Unlock()
	}
	if err := s.loadResource("group", g.ID, fg.Members, fg.Tokens, fg.Variables); err != nil {
		return err
	}
	if err := s.loadCredentials("group", g.ID, fg.DeployTokens, nil, fg.Runners); err != nil {
		return err
	}
	for _, sa := range fg.ServiceAccounts {
		if parentID != 0 {
			return fmt.Errorf("sim fixture: line %d: service accounts belong to top-level groups", sa.line)
		}
		usr, err := s.createServiceAccountNamed(g.ID, sa.Username)
		if err != nil {
			return fmt.Errorf("sim fixture: line %d: %w", sa.line, err)
		}
		if err := s.loadUserTokens(usr.ID, sa.Tokens); err != nil {
			return err
		}
	}
	for _, sub := range fg.Subgroups {
		if err := s.loadGroup(sub, g.ID); err != nil {
			return err
		}
	}
	for _, p := range fg.Projects {
		if err := s.loadProject(p, g.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) loadProject(fp fixtureProject, namespaceID int64) error {
	p, err := s.CreateProject(fp.Path, namespaceID)
	if err != nil {
		return fmt.Errorf("sim fixture: line %d: %w", fp.line, err)
	}
	if fp.Name != "" {
		s.mu.Lock()
		s.st.projects[p.ID].Name = fp.Name
		s.mu.Unlock()
	}
	if err := s.loadResource("project", p.ID, fp.Members, fp.Tokens, fp.Variables); err != nil {
		return err
	}
	return s.loadCredentials("project", p.ID, fp.DeployTokens, fp.Triggers, fp.Runners)
}

func (s *Server) loadResource(kind string, id int64, members []fixtureMember, tokens []fixtureToken, vars []fixtureVariable) error {
	for _, m := range members {
		u, ok := s.userNamed(m.User)
		if !ok {
			return fmt.Errorf("sim fixture: line %d: unknown user %q (list it under users:)", m.line, m.User)
		}
		if err := s.AddMember(kind, id, u.ID, m.AccessLevel); err != nil {
			return fmt.Errorf("sim fixture: line %d: %w", m.line, err)
		}
	}
	for _, t := range tokens {
		if _, _, err := s.CreateAccessToken(kind, id, t.spec()); err != nil {
			return fmt.Errorf("sim fixture: line %d: %w", t.line, err)
		}
	}
	for _, fv := range vars {
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
			return fmt.Errorf("sim fixture: line %d: %w", fv.line, err)
		}
	}
	return nil
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
