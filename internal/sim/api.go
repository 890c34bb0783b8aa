package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// User, Group, Project, Token and Variable are read-only snapshots for tests.
type User struct {
	ID       int64
	Username string
	Name     string
	Email    string
	Admin    bool
	Bot      bool
}

type Group struct {
	ID       int64
	Name     string
	Path     string
	FullPath string
	ParentID int64
}

type Project struct {
	ID                int64
	Name              string
	Path              string
	PathWithNamespace string
	NamespaceID       int64
}

// Token is a snapshot of any access token. ResourceType is "group",
// "project", or "" for a personal access token.
type Token struct {
	ID           int64
	Name         string
	Description  string
	Scopes       []string
	AccessLevel  int
	UserID       int64
	CreatedAt    time.Time
	ExpiresAt    *time.Time
	LastUsedAt   *time.Time
	Revoked      bool
	Expired      bool
	Active       bool
	ResourceType string
	ResourceID   int64
	PreviousID   int64 // the token this one was rotated from, 0 if none
}

type Variable struct {
	Key              string
	Value            string
	VariableType     string
	Protected        bool
	Masked           bool
	Hidden           bool
	Raw              bool
	EnvironmentScope string
	Description      string
}

// TokenSpec describes a token made through the fixture API.
type TokenSpec struct {
	Name, Description string
	Scopes            []string
	AccessLevel       int        // resource tokens; 0 → 40
	CreatedAt         time.Time  // zero → now
	ExpiresAt         *time.Time // a date; nil → never expires
	LastUsedAt        *time.Time
	Revoked           bool
	Secret            string // "" → random glpat-…
}

func (spec TokenSpec) token(now time.Time) *token {
	t := &token{Name: spec.Name, Description: spec.Description, Scopes: slices.Clone(spec.Scopes),
		AccessLevel: spec.AccessLevel, CreatedAt: spec.CreatedAt, Revoked: spec.Revoked}
	if t.AccessLevel == 0 {
		t.AccessLevel = 40
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if spec.ExpiresAt != nil {
		d := dateOf(*spec.ExpiresAt)
		t.ExpiresAt = &d
	}
	t.LastUsedAt = clonePtr(spec.LastUsedAt)
	if t.Revoked {
		t.RevokedAt = now
	}
	return t
}

// Stats counts requests and objects.
type Stats struct {
	Requests  int64 `json:"requests"`
	Throttled int64 `json:"throttled"` // 429 responses
	// AdminRequests are administrators' requests let through the rate
	// limit (the managing token's, in a rotation benchmark).
	AdminRequests  int64 `json:"admin_requests"`
	Users          int   `json:"users"`
	Groups         int   `json:"groups"`
	Projects       int   `json:"projects"`
	GroupTokens    int   `json:"group_tokens"`
	ProjectTokens  int   `json:"project_tokens"`
	PersonalTokens int   `json:"personal_tokens"`
	Variables      int   `json:"variables"`
	DeployTokens   int   `json:"deploy_tokens"`
	TriggerTokens  int   `json:"trigger_tokens"`
	Runners        int   `json:"runners"`
}

func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Requests: s.requests.Load(), Throttled: s.throttled.Load(), AdminRequests: s.adminRequests.Load(), Users: len(s.st.users),
		Groups: len(s.st.groups), Projects: len(s.st.projects), Variables: len(s.st.variables),
		DeployTokens: len(s.st.deployTokens), TriggerTokens: len(s.st.triggers), Runners: len(s.st.runners)}
	for _, t := range s.st.tokens {
		switch t.ResourceType {
		case "group":
			st.GroupTokens++
		case "project":
			st.ProjectTokens++
		default:
			st.PersonalTokens++
		}
	}
	return st
}

func (s *Server) CreateUser(username string, admin bool) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if username == "" || s.st.userByName(username) != nil {
		return User{}, fmt.Errorf("sim: create user %q: empty or already taken", username)
	}
	u := &user{ID: s.st.id("user"), Username: username, Name: strings.ToUpper(username[:1]) + username[1:],
		Email: username + "@" + s.host, Admin: admin, CreatedAt: s.clock.Now()}
	s.st.addUser(u)
	return userSnap(u), nil
}

// User returns a snapshot of the user with id.
func (s *Server) User(id int64) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.users[id]
	if u == nil {
		return User{}, false
	}
	return userSnap(u), true
}

func userSnap(u *user) User {
	return User{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, Admin: u.Admin, Bot: u.Bot}
}

// CreateGroup makes a group; parentID 0 makes a top-level group.
func (s *Server) CreateGroup(path string, parentID int64) (Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if parentID != 0 && s.st.groups[parentID] == nil {
		return Group{}, fmt.Errorf("sim: create group %q: no parent group %d", path, parentID)
	}
	g, err := s.st.addGroup(&group{Name: path, Path: path, ParentID: parentID, CreatedAt: s.clock.Now()})
	if err != nil {
		return Group{}, fmt.Errorf("sim: create group %q: path %w", path, err)
	}
	return s.groupSnap(g), nil
}

func (s *Server) groupSnap(g *group) Group {
	return Group{ID: g.ID, Name: g.Name, Path: g.Path, FullPath: s.st.groupFullPath(g), ParentID: g.ParentID}
}

// GroupByPath finds a group by full path.
func (s *Server) GroupByPath(fullPath string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.st.findGroup(fullPath); g != nil {
		return s.groupSnap(g), true
	}
	return Group{}, false
}

// ProjectByPath finds a project by path_with_namespace.
func (s *Server) ProjectByPath(fullPath string) (Project, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.st.findProject(fullPath); p != nil {
		return s.projectSnap(p), true
	}
	return Project{}, false
}

func (s *Server) CreateProject(path string, namespaceID int64) (Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.groups[namespaceID] == nil {
		return Project{}, fmt.Errorf("sim: create project %q: no group %d", path, namespaceID)
	}
	p, err := s.st.addProject(&project{Name: path, Path: path, NamespaceID: namespaceID, CreatedAt: s.clock.Now()})
	if err != nil {
		return Project{}, fmt.Errorf("sim: create project %q: path %w", path, err)
	}
	return s.projectSnap(p), nil
}

func (s *Server) projectSnap(p *project) Project {
	return Project{ID: p.ID, Name: p.Name, Path: p.Path, PathWithNamespace: s.st.projectFullPath(p), NamespaceID: p.NamespaceID}
}

// AddMember makes userID a member of a "group" or "project" at accessLevel.
func (s *Server) AddMember(kind string, resourceID, userID int64, accessLevel int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkResource(kind, resourceID); err != nil {
		return err
	}
	if s.st.users[userID] == nil {
		return fmt.Errorf("sim: add member: no user %d", userID)
	}
	if !slices.Contains(accessLevels, accessLevel) {
		return fmt.Errorf("sim: add member: invalid access level %d", accessLevel)
	}
	s.st.setMember(memberKey{kind, resourceID, userID}, accessLevel, s.clock.Now())
	return nil
}

func (s *Server) checkResource(kind string, id int64) error {
	switch {
	case kind == "group" && s.st.groups[id] != nil, kind == "project" && s.st.projects[id] != nil:
		return nil
	case kind != "group" && kind != "project":
		return fmt.Errorf("sim: kind %q: want group or project", kind)
	}
	return fmt.Errorf("sim: no %s %d", kind, id)
}

// CreateAccessToken makes a group or project access token with its bot user
// and membership. It returns the token and its secret.
func (s *Server) CreateAccessToken(kind string, resourceID int64, spec TokenSpec) (Token, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkResource(kind, resourceID); err != nil {
		return Token{}, "", err
	}
	if err := s.checkSpec(spec, resourceScopes); err != nil {
		return Token{}, "", err
	}
	if spec.AccessLevel == 0 {
		spec.AccessLevel = 40
	}
	t, secret := s.mintResourceToken(kind, resourceID, spec, s.clock.Now())
	return s.tokenSnap(t), secret, nil
}

// CreatePersonalToken makes a personal access token for userID.
func (s *Server) CreatePersonalToken(userID int64, spec TokenSpec) (Token, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.users[userID] == nil {
		return Token{}, "", fmt.Errorf("sim: create personal token: no user %d", userID)
	}
	if err := s.checkSpec(spec, append(slices.Clone(resourceScopes), patOnlyScopes...)); err != nil {
		return Token{}, "", err
	}
	t := spec.token(s.clock.Now())
	t.UserID, t.AccessLevel = userID, 0
	secret := secretOr(spec.Secret, s.st.newSecret)
	s.st.addToken(t, secret)
	return s.tokenSnap(t), secret, nil
}

func (s *Server) checkSpec(spec TokenSpec, allowed []string) error {
	if spec.Name == "" || len(spec.Scopes) == 0 {
		return fmt.Errorf("sim: token %q: name and scopes are required", spec.Name)
	}
	for _, sc := range spec.Scopes {
		if !slices.Contains(allowed, sc) {
			return fmt.Errorf("sim: token %q: unknown scope %q", spec.Name, sc)
		}
	}
	if spec.AccessLevel != 0 && !slices.Contains(accessLevels, spec.AccessLevel) {
		return fmt.Errorf("sim: token %q: invalid access level %d", spec.Name, spec.AccessLevel)
	}
	if spec.Secret != "" {
		if _, taken := s.st.byDigest[digest(spec.Secret)]; taken {
			return fmt.Errorf("sim: token %q: secret already in use", spec.Name)
		}
	}
	return nil
}

func (s *Server) tokenSnap(t *token) Token {
	now := s.clock.Now()
	out := Token{ID: t.ID, Name: t.Name, Description: t.Description, Scopes: slices.Clone(t.Scopes),
		AccessLevel: t.AccessLevel, UserID: t.UserID, CreatedAt: t.CreatedAt, Revoked: t.Revoked,
		Expired: t.expired(now), Active: t.active(now), ResourceType: t.ResourceType,
		ResourceID: t.ResourceID, PreviousID: t.PreviousID}
	out.ExpiresAt = clonePtr(t.ExpiresAt)
	out.LastUsedAt = clonePtr(t.LastUsedAt)
	return out
}

// Token returns a snapshot of the token with id.
func (s *Server) Token(id int64) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.token(id)
	if t == nil {
		return Token{}, false
	}
	return s.tokenSnap(t), true
}

// Tokens returns every token (including removed-from-listing ones), id order.
func (s *Server) Tokens() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Token
	for _, t := range s.st.tokens {
		out = append(out, s.tokenSnap(t))
	}
	return out
}

// SetVariable creates the CI/CD variable v of a group or project
// (EnvironmentScope "" is "*", VariableType "" is env_var), validated as
// GitLab validates it.
func (s *Server) SetVariable(kind string, resourceID int64, v Variable) error {
	sv := &variable{Kind: kind, ResourceID: resourceID, Key: v.Key, Value: v.Value, VariableType: v.VariableType,
		Protected: v.Protected, Masked: v.Masked || v.Hidden, Hidden: v.Hidden, Raw: v.Raw, EnvironmentScope: v.EnvironmentScope}
	if sv.VariableType == "" {
		sv.VariableType = "env_var"
	}
	if sv.EnvironmentScope == "" {
		sv.EnvironmentScope = "*"
	}
	if v.Description != "" {
		sv.Description = &v.Description
	}
	return s.addVariable(sv)
}

// Values returns the value of every CI/CD variable, hidden ones included:
// tests check that none of them leaks.
func (s *Server) Values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.st.variables))
	for i, v := range s.st.variables {
		out[i] = v.Value
	}
	return out
}

// Variable returns the CI/CD variable of a group or project.
func (s *Server) Variable(kind string, resourceID int64, key, envScope string) (Variable, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.st.variables {
		if v.Kind == kind && v.ResourceID == resourceID && v.Key == key && v.EnvironmentScope == envScope {
			out := Variable{Key: v.Key, Value: v.Value, VariableType: v.VariableType, Protected: v.Protected,
				Masked: v.Masked, Hidden: v.Hidden, Raw: v.Raw, EnvironmentScope: v.EnvironmentScope}
			if v.Description != nil {
				out.Description = *v.Description
			}
			return out, true
		}
	}
	return Variable{}, false
}

// TokenBySecret returns the token whose secret is secret, if any: a
// simulation asks which token a sink's value belongs to.
func (s *Server) TokenBySecret(secret string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.st.byDigest[digest(secret)]
	if !ok {
		return Token{}, false
	}
	t := s.st.token(id)
	if t == nil {
		return Token{}, false
	}
	return s.tokenSnap(t), true
}

// UserByName finds a user by username (case-insensitive).
func (s *Server) UserByName(name string) (User, bool) { return s.userNamed(name) }
