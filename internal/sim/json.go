package sim

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// jsonTime renders like GitLab: RFC 3339, milliseconds, Z.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z") + `"`), nil
}

// jsonDate renders a date as YYYY-MM-DD.
type jsonDate time.Time

func (d jsonDate) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(d).UTC().Format(time.DateOnly) + `"`), nil
}

// clonePtr is a copy of *t, or nil: what the emulator hands out never
// shares its store's times.
func clonePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// utcPtr is a copy of *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func timePtr(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	j := jsonTime(*t)
	return &j
}

func datePtr(t *time.Time) *jsonDate {
	if t == nil {
		return nil
	}
	d := jsonDate(*t)
	return &d
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"message":"500 Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// message writes GitLab's {"message": ...} error body.
func message(w http.ResponseWriter, code int, msg any) {
	writeJSON(w, code, map[string]any{"message": msg})
}

// paramError writes Grape's {"error": ...} validation body.
func paramError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func randomSeed() [32]byte {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return b
}

type tokenJSON struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Revoked      bool      `json:"revoked"`
	CreatedAt    jsonTime  `json:"created_at"`
	Scopes       []string  `json:"scopes"`
	UserID       int64     `json:"user_id"`
	LastUsedAt   *jsonTime `json:"last_used_at"`
	Active       bool      `json:"active"`
	Expired      bool      `json:"expired"`
	ExpiresAt    *jsonDate `json:"expires_at"`
	AccessLevel  *int      `json:"access_level,omitempty"`
	ResourceType string    `json:"resource_type,omitempty"`
	ResourceID   int64     `json:"resource_id,omitempty"`
	Token        string    `json:"token,omitempty"`
}

// tokenView renders t; withResource adds access_level and resource_* (the
// group/project access token endpoints).
func tokenView(t *token, now time.Time, withResource bool, secret string) tokenJSON {
	j := tokenJSON{
		ID: t.ID, Name: t.Name, Description: t.Description, Revoked: t.Revoked,
		CreatedAt: jsonTime(t.CreatedAt), Scopes: t.Scopes, UserID: t.UserID,
		LastUsedAt: timePtr(t.LastUsedAt), Active: t.active(now), Expired: t.expired(now),
		ExpiresAt: datePtr(t.ExpiresAt), Token: secret,
	}
	if j.Scopes == nil {
		j.Scopes = []string{}
	}
	if withResource {
		lvl := t.AccessLevel
		j.AccessLevel, j.ResourceType, j.ResourceID = &lvl, t.ResourceType, t.ResourceID
	}
	return j
}

type groupJSON struct {
	ID                   int64    `json:"id"`
	WebURL               string   `json:"web_url"`
	Name                 string   `json:"name"`
	Path                 string   `json:"path"`
	Description          string   `json:"description"`
	Visibility           string   `json:"visibility"`
	FullName             string   `json:"full_name"`
	FullPath             string   `json:"full_path"`
	CreatedAt            jsonTime `json:"created_at"`
	ParentID             *int64   `json:"parent_id"`
	OrganizationID       int64    `json:"organization_id"`
	MarkedForDeletionOn  *string  `json:"marked_for_deletion_on"`
	RequireTwoFactorAuth bool     `json:"require_two_factor_authentication"`
}

func (s *Server) groupView(base string, g *group) groupJSON {
	full := s.st.groupFullPath(g)
	j := groupJSON{
		ID: g.ID, WebURL: base + "/groups/" + full, Name: g.Name, Path: g.Path,
		Visibility: "private", FullName: s.st.groupFullName(g), FullPath: full,
		CreatedAt: jsonTime(g.CreatedAt), OrganizationID: 1,
	}
	if g.ParentID != 0 {
		pid := g.ParentID
		j.ParentID = &pid
	}
	return j
}

type namespaceJSON struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	FullPath  string  `json:"full_path"`
	ParentID  *int64  `json:"parent_id"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

type projectJSON struct {
	ID                int64         `json:"id"`
	Description       *string       `json:"description"`
	Name              string        `json:"name"`
	NameWithNamespace string        `json:"name_with_namespace"`
	Path              string        `json:"path"`
	PathWithNamespace string        `json:"path_with_namespace"`
	CreatedAt         jsonTime      `json:"created_at"`
	DefaultBranch     string        `json:"default_branch"`
	WebURL            string        `json:"web_url"`
	Namespace         namespaceJSON `json:"namespace"`
	Visibility        string        `json:"visibility"`
}

func (s *Server) projectView(base string, p *project) projectJSON {
	g := s.st.groups[p.NamespaceID]
	gv := s.groupView(base, g)
	return projectJSON{
		ID: p.ID, Name: p.Name, NameWithNamespace: s.st.groupFullName(g) + " / " + p.Name,
		Path: p.Path, PathWithNamespace: s.st.projectFullPath(p), CreatedAt: jsonTime(p.CreatedAt),
		DefaultBranch: "main", WebURL: base + "/" + s.st.projectFullPath(p),
		Namespace: namespaceJSON{ID: g.ID, Name: g.Name, Path: g.Path, Kind: "group",
			FullPath: gv.FullPath, ParentID: gv.ParentID, WebURL: gv.WebURL},
		Visibility: "private",
	}
}

// userBasic is GitLab's Entities::UserBasic (lib/api/entities/user_basic.rb):
// a trigger's owner; Entities::User extends it, Entities::Member merges it in.
type userBasic struct {
	ID        int64   `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	Locked    bool    `json:"locked"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

func basicView(base string, u *user) userBasic {
	return userBasic{ID: u.ID, Username: u.Username, Name: u.Name, State: "active", WebURL: base + "/" + u.Username}
}

type userJSON struct {
	userBasic
	CreatedAt jsonTime `json:"created_at"`
	Bot       bool     `json:"bot"`
	Email     string   `json:"email,omitempty"`
	IsAdmin   *bool    `json:"is_admin,omitempty"`
}

// userView renders u; viewer decides whether admin-only fields appear.
func userView(base string, u *user, viewer *user) userJSON {
	j := userJSON{userBasic: basicView(base, u), CreatedAt: jsonTime(u.CreatedAt), Bot: u.Bot}
	if viewer != nil && (viewer.Admin || viewer.ID == u.ID) {
		j.Email = u.Email
	}
	if viewer != nil && viewer.Admin {
		a := u.Admin
		j.IsAdmin = &a
	}
	return j
}

type variableJSON struct {
	VariableType     string  `json:"variable_type"`
	Key              string  `json:"key"`
	Value            *string `json:"value"`
	Hidden           bool    `json:"hidden"`
	Protected        bool    `json:"protected"`
	Masked           bool    `json:"masked"`
	Raw              bool    `json:"raw"`
	EnvironmentScope string  `json:"environment_scope"`
	Description      *string `json:"description"`
}

func variableView(v *variable) variableJSON {
	j := variableJSON{VariableType: v.VariableType, Key: v.Key, Hidden: v.Hidden, Protected: v.Protected,
		Masked: v.Masked, Raw: v.Raw, EnvironmentScope: v.EnvironmentScope, Description: v.Description}
	if !v.Hidden {
		val := v.Value
		j.Value = &val
	}
	return j
}

type simError string

func (e simError) Error() string { return string(e) }

func errf(msg string) error { return simError(msg) }
