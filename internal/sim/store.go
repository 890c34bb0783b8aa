package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// store is the emulator's database. It holds only what GitLab would: secrets
// as SHA-256 digests, never in plain text. Every method expects s.mu held by
// the caller (the Server).
type store struct {
	nextID    map[string]int64
	users     map[int64]*user
	groups    map[int64]*group
	projects  map[int64]*project
	tokens    map[int64]*token
	byDigest  map[[32]byte]int64
	members   map[memberKey]membership
	variables []*variable
	rng       *rand.Rand
	seeded    bool
}

type user struct {
	ID        int64
	Username  string
	Name      string
	Email     string
	Admin     bool
	Bot       bool
	CreatedAt time.Time
}

type group struct {
	ID        int64
	Name      string
	Path      string
	ParentID  int64
	CreatedAt time.Time
}

type project struct {
	ID          int64
	Name        string
	Path        string
	NamespaceID int64
	CreatedAt   time.Time
}

type memberKey struct {
	Kind       string // "group" | "project"
	ResourceID int64
	UserID     int64
}

// membership is a direct member of a group or project.
type membership struct {
	Level     int // access level
	CreatedAt time.Time
}

// setMember makes k a direct membership at level (keeping its creation time
// when it already exists).
func (st *store) setMember(k memberKey, level int, now time.Time) {
	m, ok := st.members[k]
	if !ok {
		m.CreatedAt = now
	}
	m.Level = level
	st.members[k] = m
}

// directLevel is the access level of a direct membership, 0 if none.
func (st *store) directLevel(k memberKey) int { return st.members[k].Level }

type token struct {
	ID           int64
	UserID       int64
	Name         string
	Description  string
	Scopes       []string
	AccessLevel  int // resource tokens only
	CreatedAt    time.Time
	ExpiresAt    *time.Time // a date (00:00 UTC)
	LastUsedAt   *time.Time
	Revoked      bool
	RevokedAt    time.Time
	Digest       [32]byte
	ResourceType string // "group", "project", or "" for personal tokens
	ResourceID   int64
	PreviousID   int64 // the token this one was rotated from
}

type variable struct {
	Kind             string // "group" | "project"
	ResourceID       int64
	Key              string
	Value            string
	VariableType     string
	Protected        bool
	Masked           bool
	Hidden           bool
	Raw              bool
	EnvironmentScope string
	Description      *string
}

func newStore(seed int64) *store {
	st := &store{
		nextID:   map[string]int64{},
		users:    map[int64]*user{},
		groups:   map[int64]*group{},
		projects: map[int64]*project{},
		tokens:   map[int64]*token{},
		byDigest: map[[32]byte]int64{},
		members:  map[memberKey]membership{},
	}
	if seed != 0 {
		st.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x5eed))
		st.seeded = true
	} else {
		st.rng = rand.New(rand.NewChaCha8(randomSeed()))
	}
	return st
}

func (st *store) id(kind string) int64 {
	st.nextID[kind]++
	return st.nextID[kind]
}

const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// newSecret returns a legacy-format personal access token: glpat- and 20
// URL-safe characters.
func (st *store) newSecret() string {
	var b strings.Builder
	b.WriteString("glpat-")
	for range 20 {
		b.WriteByte(urlSafe[st.rng.IntN(len(urlSafe))])
	}
	return b.String()
}

func (st *store) hex32() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(st.rng.IntN(256))
	}
	return hex.EncodeToString(b[:])
}

func digest(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

func (st *store) userByName(name string) *user {
	for _, u := range st.users {
		if strings.EqualFold(u.Username, name) {
			return u
		}
	}
	return nil
}

func (st *store) groupFullPath(g *group) string {
	parts := []string{g.Path}
	for p := st.groups[g.ParentID]; p != nil; p = st.groups[p.ParentID] {
		parts = append(parts, p.Path)
	}
	slices.Reverse(parts)
	return strings.Join(parts, "/")
}

func (st *store) groupFullName(g *group) string {
	parts := []string{g.Name}
	for p := st.groups[g.ParentID]; p != nil; p = st.groups[p.ParentID] {
		parts = append(parts, p.Name)
	}
	slices.Reverse(parts)
	return strings.Join(parts, " / ")
}

func (st *store) projectFullPath(p *project) string {
	return st.groupFullPath(st.groups[p.NamespaceID]) + "/" + p.Path
}

// findGroup resolves a numeric id or a full path (case-insensitive, like GitLab).
func (st *store) findGroup(ref string) *group {
	if id, ok := parseID(ref); ok {
		return st.groups[id]
	}
	for _, g := range st.groups {
		if strings.EqualFold(st.groupFullPath(g), ref) {
			return g
		}
	}
	return nil
}

func (st *store) findProject(ref string) *project {
	if id, ok := parseID(ref); ok {
		return st.projects[id]
	}
	for _, p := range st.projects {
		if strings.EqualFold(st.projectFullPath(p), ref) {
			return p
		}
	}
	return nil
}

// ancestors returns g and its ancestors, g first.
func (st *store) ancestors(g *group) []*group {
	var out []*group
	for ; g != nil; g = st.groups[g.ParentID] {
		out = append(out, g)
	}
	return out
}

func (st *store) isDescendant(g *group, of int64) bool {
	for _, a := range st.ancestors(g) {
		if a.ID == of {
			return true
		}
	}
	return false
}

// groupLevel is the user's access level in g, direct or inherited from an ancestor.
func (st *store) groupLevel(u *user, g *group) int {
	best := 0
	for _, a := range st.ancestors(g) {
		best = max(best, st.directLevel(memberKey{"group", a.ID, u.ID}))
	}
	return best
}

func (st *store) projectLevel(u *user, p *project) int {
	return max(st.directLevel(memberKey{"project", p.ID, u.ID}), st.groupLevel(u, st.groups[p.NamespaceID]))
}

func (st *store) sortedGroups() []*group {
	out := make([]*group, 0, len(st.groups))
	for _, g := range st.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (st *store) sortedProjects() []*project {
	out := make([]*project, 0, len(st.projects))
	for _, p := range st.projects {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (st *store) sortedTokens() []*token {
	out := make([]*token, 0, len(st.tokens))
	for _, t := range st.tokens {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (st *store) sortedUsers() []*user {
	out := make([]*user, 0, len(st.users))
	for _, u := range st.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// addToken stores t under a fresh id with the digest of secret.
func (st *store) addToken(t *token, secret string) {
	t.ID = st.id("token")
	t.Digest = digest(secret)
	st.tokens[t.ID] = t
	st.byDigest[t.Digest] = t.ID
}

// dateOf truncates t to its UTC date.
func dateOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// expired: a token expires at 00:00 UTC of its expires_at date.
func (t *token) expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

func (t *token) active(now time.Time) bool { return !t.Revoked && !t.expired(now) }

// inactiveSince is when the token stopped being usable, or zero.
func (t *token) inactiveSince(now time.Time) time.Time {
	var at time.Time
	if t.Revoked {
		at = t.RevokedAt
	}
	if t.expired(now) && (at.IsZero() || t.ExpiresAt.Before(at)) {
		at = *t.ExpiresAt
	}
	return at
}

// retention is how long GitLab keeps a group or project access token's bot
// user once all of its tokens are inactive.
const retention = 30 * 24 * time.Hour

// removedBots are the bot users GitLab has deleted by now, with their tokens:
// its daily ResourceAccessTokens::InactiveTokensDeletionCronWorker removes a
// bot once every token it holds has been inactive for 30 days. A rotation
// keeps the bot, so a rotated-away token stays listed for as long as its
// family has a live token, and 30 days after the last one became inactive.
// Personal tokens of people are never removed.
func (st *store) removedBots(now time.Time) map[int64]bool {
	live := map[int64]bool{}
	for _, t := range st.tokens {
		if t.ResourceType == "" || live[t.UserID] {
			continue
		}
		if at := t.inactiveSince(now); at.IsZero() || now.Sub(at) <= retention {
			live[t.UserID] = true
		}
	}
	removed := map[int64]bool{}
	for _, t := range st.tokens {
		if t.ResourceType != "" && !live[t.UserID] {
			removed[t.UserID] = true
		}
	}
	return removed
}

// listed reports whether t still exists at now, given removedBots(now).
func (t *token) listed(removed map[int64]bool) bool {
	return t.ResourceType == "" || !removed[t.UserID]
}
