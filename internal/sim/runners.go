package sim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Runners (lib/api/ci/runners.rb, Entities::Ci::Runner / RunnerDetails /
// ResetTokenResult). A runner's authentication token (glrt-…) is shown only
// when it is made or reset; no read endpoint shows it or its expiry
// (RunnerDetails has no token_expires_at), so an inventory learns a runner
// token's expiry only from the reset answer.

type runner struct {
	ID             int64
	Description    string
	Type           string // instance_type | group_type | project_type
	GroupID        int64
	ProjectIDs     []int64
	Paused         bool
	CreatedAt      time.Time
	ContactedAt    *time.Time
	Digest         [32]byte
	TokenExpiresAt *time.Time
}

type runnerJSON struct {
	ID                 int64    `json:"id"`
	Description        string   `json:"description"`
	IPAddress          *string  `json:"ip_address"`
	Active             bool     `json:"active"`
	Paused             bool     `json:"paused"`
	IsShared           bool     `json:"is_shared"`
	RunnerType         string   `json:"runner_type"`
	Name               *string  `json:"name"`
	Online             bool     `json:"online"`
	CreatedAt          jsonTime `json:"created_at"`
	Status             string   `json:"status"`
	JobExecutionStatus string   `json:"job_execution_status"`
}

type runnerDetailsJSON struct {
	runnerJSON
	TagList         []string    `json:"tag_list"`
	RunUntagged     bool        `json:"run_untagged"`
	Locked          bool        `json:"locked"`
	MaximumTimeout  *int        `json:"maximum_timeout"`
	AccessLevel     string      `json:"access_level"`
	Version         *string     `json:"version"`
	Revision        *string     `json:"revision"`
	Platform        *string     `json:"platform"`
	Architecture    *string     `json:"architecture"`
	ContactedAt     *jsonTime   `json:"contacted_at"`
	MaintenanceNote *string     `json:"maintenance_note"`
	Projects        []idAndPath `json:"projects"`
	Groups          []idAndPath `json:"groups"`
}

type idAndPath struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	NameWithNamespace string `json:"name_with_namespace,omitempty"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace,omitempty"`
	WebURL            string `json:"web_url,omitempty"`
}

func (r *runner) online(now time.Time) bool {
	return r.ContactedAt != nil && now.Sub(*r.ContactedAt) < 2*time.Hour
}

func (r *runner) status(now time.Time) string {
	switch {
	case r.ContactedAt == nil:
		return "never_contacted"
	case r.online(now):
		return "online"
	case now.Sub(*r.ContactedAt) > 7*24*time.Hour:
		return "stale"
	}
	return "offline"
}

func runnerView(r *runner, now time.Time) runnerJSON {
	return runnerJSON{ID: r.ID, Description: r.Description, Active: !r.Paused, Paused: r.Paused,
		IsShared: r.Type == "instance_type", RunnerType: r.Type, Online: r.online(now),
		CreatedAt: jsonTime(r.CreatedAt), Status: r.status(now), JobExecutionStatus: "idle"}
}

func (s *Server) runnerDetailsView(c *call, r *runner) runnerDetailsJSON {
	j := runnerDetailsJSON{runnerJSON: runnerView(r, c.now), TagList: []string{}, RunUntagged: true,
		AccessLevel: "not_protected", ContactedAt: timePtr(r.ContactedAt), Projects: []idAndPath{}, Groups: []idAndPath{}}
	for _, pid := range r.ProjectIDs {
		if p := s.st.projects[pid]; p != nil {
			full := s.st.projectFullPath(p)
			j.Projects = append(j.Projects, idAndPath{ID: p.ID, Name: p.Name, Path: p.Path, PathWithNamespace: full,
				NameWithNamespace: strings.ReplaceAll(full, "/", " / ")})
		}
	}
	if g := s.st.groups[r.GroupID]; g != nil {
		j.Groups = append(j.Groups, idAndPath{ID: g.ID, Name: g.Name, Path: g.Path, WebURL: c.base + "/groups/" + s.st.groupFullPath(g)})
	}
	return j
}

// newRunnerSecret: glrt- and 20 URL-safe characters.
func (st *store) newRunnerSecret() string {
	return "glrt-" + strings.TrimPrefix(st.newSecret(), "glpat-")
}

// canUpdateRunner: admins; a group runner's group Owner; a project runner's
// project Maintainer+. Instance runners are admin-only.
func (s *Server) canUpdateRunner(u *user, r *runner) bool {
	switch {
	case u == nil:
		return false
	case u.Admin:
		return true
	case r.Type == "group_type":
		g := s.st.groups[r.GroupID]
		return g != nil && s.st.groupLevel(u, g) >= 50
	case r.Type == "project_type":
		for _, pid := range r.ProjectIDs {
			if p := s.st.projects[pid]; p != nil && s.st.projectLevel(u, p) >= 40 {
				return true
			}
		}
	}
	return false
}

func (s *Server) runnerByPath(c *call) *runner {
	id, ok := parseID(c.r.PathValue("rid"))
	if !ok {
		paramError(c.w, "id is invalid")
		return nil
	}
	for _, r := range s.st.runners {
		if r.ID == id {
			return r
		}
	}
	message(c.w, http.StatusNotFound, "404 Runner Not Found")
	return nil
}

// runnerTypeFilter applies the type param of the runner lists.
func (c *call) runnerTypeFilter(rs []*runner) ([]*runner, bool) {
	typ, ok := c.p.get("type")
	if !ok {
		return rs, true
	}
	if !slices.Contains([]string{"instance_type", "group_type", "project_type"}, typ) {
		paramError(c.w, "type does not have a valid value")
		return nil, false
	}
	var out []*runner
	for _, r := range rs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out, true
}

func (s *Server) writeRunners(c *call, rs []*runner) {
	rs, ok := c.runnerTypeFilter(rs)
	if !ok {
		return
	}
	writeViews(c, rs, func(r *runner) runnerJSON { return runnerView(r, c.now) })
}

func (s *Server) listAllRunners(c *call) {
	if !c.admin() {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	s.writeRunners(c, s.st.runners)
}

// getRunner serves GET /runners/:id (onFound(s.runnerByPath, …)).
func (s *Server) getRunner(c *call, r *runner) {
	if r.Type != "instance_type" && !s.canUpdateRunner(c.user, r) && !s.canReadRunner(c.user, r) {
		message(c.w, http.StatusForbidden, "403 Forbidden - No access granted")
		return
	}
	writeJSON(c.w, http.StatusOK, s.runnerDetailsView(c, r))
}

// canReadRunner: Maintainers of a group runner's group may read it too.
func (s *Server) canReadRunner(u *user, r *runner) bool {
	g := s.st.groups[r.GroupID]
	return u != nil && r.Type == "group_type" && g != nil && s.st.groupLevel(u, g) >= 40
}

type resetTokenJSON struct {
	Token          string    `json:"token"`
	TokenExpiresAt *jsonTime `json:"token_expires_at"`
}

// resetRunnerToken: a new token, the old one dead at once; the new expiry
// follows the instance's runner_token_expiration_interval (none by default).
func (s *Server) resetRunnerToken(c *call, r *runner) {
	if !s.canUpdateRunner(c.user, r) {
		message(c.w, http.StatusForbidden, "403 Forbidden - No access granted")
		return
	}
	secret := s.st.newRunnerSecret()
	r.Digest = digest(secret)
	r.TokenExpiresAt = nil
	if s.runnerTokenInterval > 0 {
		e := c.now.Add(s.runnerTokenInterval)
		r.TokenExpiresAt = &e
	}
	writeJSON(c.w, http.StatusCreated, resetTokenJSON{Token: secret, TokenExpiresAt: timePtr(r.TokenExpiresAt)})
}

// verifyRunner is POST /runners/verify: what gitlab-runner calls with its
// token. 200 with the token's expiry when it is live, 403 otherwise. Like
// every request of a runner, it is the runner's contact (authenticate_runner!
// heartbeats it, gitlabhq lib/api/ci/helpers/runner.rb): contacted_at is now.
func (s *Server) verifyRunner(c *call) {
	secret := c.p.str("token")
	if secret == "" {
		paramError(c.w, "token is missing")
		return
	}
	dg := digest(secret)
	for _, r := range s.st.runners {
		if r.Digest == dg && (r.TokenExpiresAt == nil || c.now.Before(*r.TokenExpiresAt)) {
			now := c.now
			r.ContactedAt = &now
			writeJSON(c.w, http.StatusOK, struct {
				ID int64 `json:"id"`
				resetTokenJSON
			}{r.ID, resetTokenJSON{Token: secret, TokenExpiresAt: timePtr(r.TokenExpiresAt)}})
			return
		}
	}
	message(c.w, http.StatusForbidden, "403 Forbidden")
}

// listGroupRunners: the group's runners and its ancestors' (Owner, or
// Maintainer, of the group: onResource("group", (*call).maintainedResource, …)).
func (s *Server) listGroupRunners(c *call, id int64) {
	anc := s.st.ancestors(s.st.groups[id])
	var out []*runner
	for _, r := range s.st.runners {
		if r.Type == "group_type" && slices.ContainsFunc(anc, func(a *group) bool { return a.ID == r.GroupID }) {
			out = append(out, r)
		}
	}
	s.writeRunners(c, out)
}

// listProjectRunners: the project's own runners, its groups' runners and the
// instance runners (Maintainer+: onResource("project", (*call).maintainedResource, …)).
func (s *Server) listProjectRunners(c *call, id int64) {
	p := s.st.projects[id]
	anc := s.st.ancestors(s.st.groups[p.NamespaceID])
	var out []*runner
	for _, r := range s.st.runners {
		switch r.Type {
		case "instance_type":
			out = append(out, r)
		case "group_type":
			if slices.ContainsFunc(anc, func(a *group) bool { return a.ID == r.GroupID }) {
				out = append(out, r)
			}
		case "project_type":
			if slices.Contains(r.ProjectIDs, p.ID) {
				out = append(out, r)
			}
		}
	}
	s.writeRunners(c, out)
}

// RunnerSpec describes a runner made through the fixture API.
type RunnerSpec struct {
	Description    string
	Type           string // instance_type | group_type | project_type
	GroupID        int64
	ProjectID      int64
	CreatedAt      time.Time
	ContactedAt    *time.Time
	TokenExpiresAt *time.Time
	Secret         string // "" → random glrt-…
}

// Runner is a snapshot of a runner.
type Runner struct {
	ID             int64
	Description    string
	Type           string
	GroupID        int64
	ProjectIDs     []int64
	TokenExpiresAt *time.Time
}

func (st *store) addRunner(spec RunnerSpec, now time.Time) (*runner, string) {
	r := &runner{ID: st.id("runner"), Description: spec.Description, Type: spec.Type, GroupID: spec.GroupID, CreatedAt: spec.CreatedAt}
	if spec.ProjectID != 0 {
		r.ProjectIDs = []int64{spec.ProjectID}
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.ContactedAt = clonePtr(spec.ContactedAt)
	r.TokenExpiresAt = utcPtr(spec.TokenExpiresAt)
	secret := secretOr(spec.Secret, st.newRunnerSecret)
	r.Digest = digest(secret)
	st.runners = append(st.runners, r)
	return r, secret
}

// CreateRunner registers a runner.
func (s *Server) CreateRunner(spec RunnerSpec) (Runner, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch spec.Type {
	case "instance_type":
	case "group_type":
		if err := s.checkResource("group", spec.GroupID); err != nil {
			return Runner{}, "", err
		}
	case "project_type":
		if err := s.checkResource("project", spec.ProjectID); err != nil {
			return Runner{}, "", err
		}
	default:
		return Runner{}, "", errf("sim: runner type " + strconv.Quote(spec.Type) + ": want instance_type, group_type or project_type")
	}
	r, secret := s.st.addRunner(spec, s.clock.Now())
	return runnerSnap(r), secret, nil
}

// Runners lists every runner, in id order.
func (s *Server) Runners() []Runner {
	return snapshots(s, &s.st.runners, runnerSnap)
}

func runnerSnap(r *runner) Runner {
	out := Runner{ID: r.ID, Description: r.Description, Type: r.Type, GroupID: r.GroupID, ProjectIDs: slices.Clone(r.ProjectIDs)}
	out.TokenExpiresAt = clonePtr(r.TokenExpiresAt)
	return out
}

// RunnerTokenValid reports whether secret is a live runner token (what
// POST /runners/verify checks).
func (s *Server) RunnerTokenValid(secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	dg, now := digest(secret), s.clock.Now()
	for _, r := range s.st.runners {
		if r.Digest == dg && (r.TokenExpiresAt == nil || now.Before(*r.TokenExpiresAt)) {
			return true
		}
	}
	return false
}
