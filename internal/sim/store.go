package sim

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// store is the emulator's database. It holds only what GitLab would: secrets
// as SHA-256 digests, never in plain text. Every method expects s.mu held by
// the caller (the Server).
//
// Its indexes keep the cost of a request proportional to what it answers, not
// to the size of the instance (issue 13): groups, projects and tokens are
// kept in id order as they are added (ids only grow), by full path, by parent
// and by resource; a user holds its memberships and tokens.
type store struct {
	nextID    map[string]int64
	users     map[int64]*user
	groups    map[int64]*group
	projects  map[int64]*project
	tokens    []*token // id order: token n is tokens[n-1]
	byDigest  map[[32]byte]int64
	members   map[memberKey]membership
	variables []*variable
	// deploy tokens, pipeline trigger tokens and runners, id order
	deployTokens []*deployToken
	triggers     []*trigger
	runners      []*runner
	packages     []*genericPackage // generic packages, id order (packages.go)
	rng          *rand.Rand
	seeded       bool

	userList     []*user              // id order
	groupList    []*group             // id order
	projectList  []*project           // id order
	groupPaths   map[string]*group    // lower-case full path
	projectPaths map[string]*project  // lower-case path_with_namespace
	subgroups    map[int64][]*group   // by parent id, 0 for top-level groups; id order
	nsProjects   map[int64][]*project // by namespace (group) id; id order
	resTokens    map[resKey][]*token  // group/project access tokens by resource; id order
}

// resKey names a group or project.
type resKey struct {
	Kind string // "group" | "project"
	ID   int64
}

type user struct {
	ID        int64
	Username  string
	Name      string
	Email     string
	Admin     bool
	Bot       bool
	CreatedAt time.Time

	ServiceAccount bool  // user_type service_account (Bot is true too)
	ProvisionedBy  int64 // service accounts: the top-level group that made it, 0 for instance ones

	memberships []memberKey // its direct memberships, in the order made
	tokens      []*token    // its tokens, id order
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
		if u := st.users[k.UserID]; u != nil {
			u.memberships = append(u.memberships, k)
		}
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
		byDigest: map[[32]byte]int64{},
		members:  map[memberKey]membership{},

		groupPaths:   map[string]*group{},
		projectPaths: map[string]*project{},
		subgroups:    map[int64][]*group{},
		nsProjects:   map[int64][]*project{},
		resTokens:    map[resKey][]*token{},
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

// secretOr is given, a secret the fixture API was told to use, or else a
// new one from gen.
func secretOr(given string, gen func() string) string {
	if given != "" {
		return given
	}
	return gen()
}

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
	return st.groupJoin(g, "/", func(g *group) string { return g.Path })
}

func (st *store) groupFullName(g *group) string {
	return st.groupJoin(g, " / ", func(g *group) string { return g.Name })
}

// groupJoin joins part of each group from the top-level one down to g with sep.
func (st *store) groupJoin(g *group, sep string, part func(*group) string) string {
	var parts []string
	for _, a := range st.ancestors(g) {
		parts = append(parts, part(a))
	}
	slices.Reverse(parts)
	return strings.Join(parts, sep)
}

func (st *store) projectFullPath(p *project) string {
	return st.groupFullPath(st.groups[p.NamespaceID]) + "/" + p.Path
}

// findGroup resolves a numeric id or a full path (case-insensitive, like GitLab).
func (st *store) findGroup(ref string) *group {
	if id, ok := parseID(ref); ok {
		return st.groups[id]
	}
	return st.groupPaths[strings.ToLower(ref)]
}

func (st *store) findProject(ref string) *project {
	if id, ok := parseID(ref); ok {
		return st.projects[id]
	}
	return st.projectPaths[strings.ToLower(ref)]
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

// token is token id, or nil.
func (st *store) token(id int64) *token {
	if id < 1 || id > int64(len(st.tokens)) {
		return nil
	}
	return st.tokens[id-1]
}

// addGroup stores g under a fresh id and indexes it, unless checkPath
// refuses its path.
func (st *store) addGroup(g *group) (*group, error) {
	if err := checkPath(g.Path, st.subgroups[g.ParentID]); err != nil {
		return nil, err
	}
	g.ID = st.id("namespace")
	st.groups[g.ID] = g
	st.groupList = append(st.groupList, g)
	st.groupPaths[strings.ToLower(st.groupFullPath(g))] = g
	st.subgroups[g.ParentID] = append(st.subgroups[g.ParentID], g)
	return g, nil
}

// addProject stores p under a fresh id and indexes it, unless checkPath
// refuses its path.
func (st *store) addProject(p *project) (*project, error) {
	if err := checkPath(p.Path, st.nsProjects[p.NamespaceID]); err != nil {
		return nil, err
	}
	p.ID = st.id("project")
	st.projects[p.ID] = p
	st.projectList = append(st.projectList, p)
	st.projectPaths[strings.ToLower(st.projectFullPath(p))] = p
	st.nsProjects[p.NamespaceID] = append(st.nsProjects[p.NamespaceID], p)
	return p, nil
}

// descendants returns g's subgroups at every depth (not g itself).
func (st *store) descendants(g *group) []*group {
	var out []*group
	for i, next := 0, st.subgroups[g.ID]; ; i++ {
		out = append(out, next...)
		if i >= len(out) {
			return out
		}
		next = st.subgroups[out[i].ID]
	}
}

// memberGroups is every group where u's level is above 0: the groups it is a
// direct member of and their descendants, in id order.
func (st *store) memberGroups(u *user) []*group {
	seen := map[int64]bool{}
	var out []*group
	for _, k := range u.memberships {
		g := st.groups[k.ResourceID]
		if k.Kind != "group" || g == nil || seen[g.ID] || st.members[k].Level == 0 {
			continue
		}
		for _, d := range append([]*group{g}, st.descendants(g)...) {
			if !seen[d.ID] {
				seen[d.ID] = true
				out = append(out, d)
			}
		}
	}
	slices.SortFunc(out, func(a, b *group) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// memberProjects is every project where u's level is above 0, in id order.
func (st *store) memberProjects(u *user) []*project {
	seen := map[int64]bool{}
	var out []*project
	add := func(p *project) {
		if p != nil && !seen[p.ID] && st.projectLevel(u, p) > 0 {
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	for _, k := range u.memberships {
		if k.Kind == "project" {
			add(st.projects[k.ResourceID])
		}
	}
	for _, g := range st.memberGroups(u) {
		for _, p := range st.nsProjects[g.ID] {
			add(p)
		}
	}
	slices.SortFunc(out, func(a, b *project) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// addUser stores u (its id already taken from st.id("user")).
func (st *store) addUser(u *user) {
	st.users[u.ID] = u
	st.userList = append(st.userList, u)
}

// addToken stores t under a fresh id with the digest of secret.
func (st *store) addToken(t *token, secret string) {
	t.ID = st.id("token")
	t.Digest = digest(secret)
	st.tokens = append(st.tokens, t)
	st.byDigest[t.Digest] = t.ID
	if t.ResourceType != "" {
		k := resKey{t.ResourceType, t.ResourceID}
		st.resTokens[k] = append(st.resTokens[k], t)
	}
	if u := st.users[t.UserID]; u != nil {
		u.tokens = append(u.tokens, t)
	}
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

// listed reports whether t still exists at now. GitLab's daily
// ResourceAccessTokens::InactiveTokensDeletionCronWorker deletes a bot user,
// with its tokens, once every token it holds has been inactive for 30 days. A
// rotation keeps the bot, so a rotated-away token stays listed for as long as
// its family has a live token, and 30 days after the last one became
// inactive. Personal tokens of people are never removed. A bot's tokens all
// belong to its one resource, so this looks at that resource's tokens only.
func (st *store) listed(t *token, now time.Time) bool {
	if t.ResourceType == "" {
		return true
	}
	for _, o := range st.resTokens[resKey{t.ResourceType, t.ResourceID}] {
		if o.UserID == t.UserID && o.alive(now) {
			return true
		}
	}
	return false
}

// alive: t is active, or became inactive no more than retention ago.
func (t *token) alive(now time.Time) bool {
	at := t.inactiveSince(now)
	return at.IsZero() || now.Sub(at) <= retention
}
