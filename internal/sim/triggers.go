package sim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pipeline trigger tokens (lib/api/ci/triggers.rb, Ci::TriggerPresenter).
// GitLab keeps the token encrypted, not digested, because it shows it again:
// in full to its owner, cut to its first four characters (after glptt-) to
// anyone else. The emulator keeps the secret for the same reason.

type trigger struct {
	ID          int64
	ProjectID   int64
	OwnerID     int64
	Description string
	Secret      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastUsed    *time.Time
	ExpiresAt   *time.Time
}

type triggerJSON struct {
	ID          int64      `json:"id"`
	Token       string     `json:"token"`
	Description string     `json:"description"`
	CreatedAt   jsonTime   `json:"created_at"`
	UpdatedAt   jsonTime   `json:"updated_at"`
	LastUsed    *jsonTime  `json:"last_used"`
	ExpiresAt   *jsonTime  `json:"expires_at"`
	Owner       *userBasic `json:"owner"`
}

const triggerPrefix = "glptt-"

func (s *Server) triggerView(c *call, t *trigger) triggerJSON {
	tok := t.Secret
	if c.user == nil || c.user.ID != t.OwnerID {
		tok = strings.TrimPrefix(tok, triggerPrefix)[:4]
	}
	j := triggerJSON{ID: t.ID, Token: tok, Description: t.Description, CreatedAt: jsonTime(t.CreatedAt),
		UpdatedAt: jsonTime(t.UpdatedAt), LastUsed: timePtr(t.LastUsed), ExpiresAt: timePtr(t.ExpiresAt)}
	if u := s.st.users[t.OwnerID]; u != nil {
		owner := basicView(c.base, u)
		j.Owner = &owner
	}
	return j
}

// newTriggerSecret: glptt- and 40 hex digits.
func (st *store) newTriggerSecret() string { return triggerPrefix + st.hex32() + st.hex32()[:8] }

// triggerProject resolves {id}: 404 when the caller cannot see it, 403 below
// Maintainer (admin_build, manage_trigger).
func (c *call) triggerProject() (*project, bool) {
	p := c.project()
	if p == nil {
		return nil, false
	}
	if !c.admin() && c.s.st.projectLevel(c.user, p) < 40 {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return nil, false
	}
	return p, true
}

func (s *Server) projectTriggers(id int64) []*trigger {
	var out []*trigger
	for _, t := range s.st.triggers {
		if t.ProjectID == id {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) triggerByPath(c *call, projectID int64) *trigger {
	tid, ok := parseID(c.r.PathValue("tid"))
	if !ok {
		paramError(c.w, "trigger_id is invalid")
		return nil
	}
	for _, t := range s.st.triggers {
		if t.ID == tid && t.ProjectID == projectID {
			return t
		}
	}
	message(c.w, http.StatusNotFound, "404 Not found")
	return nil
}

func (s *Server) listTriggers(c *call) {
	p, ok := c.triggerProject()
	if !ok {
		return
	}
	writeViews(c, s.projectTriggers(p.ID), func(t *trigger) triggerJSON { return s.triggerView(c, t) })
}

func (s *Server) getTrigger(c *call) {
	p, ok := c.triggerProject()
	if !ok {
		return
	}
	if t := s.triggerByPath(c, p.ID); t != nil {
		writeJSON(c.w, http.StatusOK, s.triggerView(c, t))
	}
}

func (s *Server) createTrigger(c *call) {
	p, ok := c.triggerProject()
	if !ok {
		return
	}
	if m := missing(c.p, "description"); m != "" {
		paramError(c.w, m)
		return
	}
	exp, ok := c.optionalDateTime("expires_at")
	if !ok {
		return
	}
	t, _ := s.st.addTrigger(p.ID, c.user.ID, TriggerSpec{Description: c.p.str("description"), ExpiresAt: exp}, c.now)
	writeJSON(c.w, http.StatusCreated, s.triggerView(c, t))
}

// updateTrigger: only the owner may (Ci::PipelineTriggers::UpdateService
// checks admin_trigger); the description is the only field.
func (s *Server) updateTrigger(c *call) {
	p := c.project()
	if p == nil {
		return
	}
	t := s.triggerByPath(c, p.ID)
	if t == nil {
		return
	}
	if c.user.ID != t.OwnerID {
		message(c.w, http.StatusForbidden, "403 Forbidden - The current user is not authorized to update the pipeline trigger token")
		return
	}
	if v, ok := c.p.get("description"); ok {
		t.Description = v
		t.UpdatedAt = c.now
	}
	writeJSON(c.w, http.StatusOK, s.triggerView(c, t))
}

func (s *Server) deleteTrigger(c *call) {
	p, ok := c.triggerProject()
	if !ok {
		return
	}
	t := s.triggerByPath(c, p.ID)
	if t == nil {
		return
	}
	s.st.triggers = slices.DeleteFunc(s.st.triggers, func(x *trigger) bool { return x == t })
	c.w.WriteHeader(http.StatusNoContent)
}

// TriggerSpec describes a pipeline trigger token made through the fixture API.
type TriggerSpec struct {
	Description string
	CreatedAt   time.Time // zero → now
	ExpiresAt   *time.Time
	LastUsed    *time.Time
	Secret      string // "" → random glptt-…
}

func (st *store) addTrigger(projectID, ownerID int64, spec TriggerSpec, now time.Time) (*trigger, string) {
	t := &trigger{ID: st.id("trigger"), ProjectID: projectID, OwnerID: ownerID, Description: spec.Description,
		Secret: spec.Secret, CreatedAt: spec.CreatedAt}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	t.UpdatedAt = t.CreatedAt
	t.Secret = secretOr(t.Secret, st.newTriggerSecret)
	t.ExpiresAt = utcPtr(spec.ExpiresAt)
	t.LastUsed = clonePtr(spec.LastUsed)
	st.triggers = append(st.triggers, t)
	return t, t.Secret
}

// Trigger is a snapshot of a pipeline trigger token.
type Trigger struct {
	ID          int64
	ProjectID   int64
	OwnerID     int64
	Description string
	ExpiresAt   *time.Time
	LastUsed    *time.Time
}

// CreateTrigger adds a pipeline trigger token owned by ownerID to a project.
func (s *Server) CreateTrigger(projectID, ownerID int64, spec TriggerSpec) (Trigger, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkResource("project", projectID); err != nil {
		return Trigger{}, "", err
	}
	if s.st.users[ownerID] == nil {
		return Trigger{}, "", errf("sim: no user " + strconv.FormatInt(ownerID, 10))
	}
	t, secret := s.st.addTrigger(projectID, ownerID, spec, s.clock.Now())
	return triggerSnap(t), secret, nil
}

// Triggers lists every trigger token, in id order.
func (s *Server) Triggers() []Trigger {
	return snapshots(s, &s.st.triggers, triggerSnap)
}

// TriggerValid reports whether secret is a live trigger token of the project
// (what POST /projects/:id/trigger/pipeline checks).
func (s *Server) TriggerValid(projectID int64, secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, t := range s.st.triggers {
		if t.ProjectID == projectID && t.Secret == secret && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt)) {
			return true
		}
	}
	return false
}

func triggerSnap(t *trigger) Trigger {
	out := Trigger{ID: t.ID, ProjectID: t.ProjectID, OwnerID: t.OwnerID, Description: t.Description}
	out.ExpiresAt = clonePtr(t.ExpiresAt)
	out.LastUsed = clonePtr(t.LastUsed)
	return out
}
