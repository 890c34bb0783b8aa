package sim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// BenchmarkTokenList measures one page of a project's access tokens, and the
// groups and projects lists an inventory walks, as the instance grows: the
// cost per request should not grow with it (issue 13).
//
//	go test -run '^$' -bench TokenList -benchmem ./internal/sim
func BenchmarkTokenList(b *testing.B) {
	for _, size := range []struct{ groups, perGroup, tokens int }{
		{10, 10, 10},   // 1,110 tokens
		{100, 10, 10},  // 11,100 tokens
		{1000, 10, 10}, // 110,100 tokens (with the 1000 group tokens)
	} {
		s, err := New(Options{Clock: clock.NewFake(t0), Seed: 1, RootToken: rootSecret,
			Groups: size.groups, ProjectsPerGroup: size.perGroup, TokensPerProject: size.tokens})
		if err != nil {
			b.Fatal(err)
		}
		n := s.Stats().GroupTokens + s.Stats().ProjectTokens
		for _, path := range []string{
			"/api/v4/projects/5/access_tokens?per_page=100",
			"/api/v4/groups/3/access_tokens?per_page=100",
			"/api/v4/groups/3/projects?per_page=100",
			"/api/v4/groups/3/subgroups?per_page=100",
			"/api/v4/users?per_page=100",
		} {
			b.Run(fmt.Sprintf("tokens=%d%s", n, path[len("/api/v4"):len(path)-len("?per_page=100")]), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := httptest.NewRequest(http.MethodGet, path, nil)
					r.Header.Set("PRIVATE-TOKEN", rootSecret)
					w := httptest.NewRecorder()
					s.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", path, w.Code, w.Body)
					}
				}
			})
		}
	}
}

// TestIndexesAgreeWithFullScan checks every index of the store against a scan
// of all the objects, the way the emulator answered before it had them: the
// same tokens listed (bot removal), the same groups visible, the same
// subgroups, descendants, member groups and projects, and paths found
// case-insensitively, over a nested instance at several points in time.
func TestIndexesAgreeWithFullScan(t *testing.T) {
	s, err := New(Options{Clock: clock.NewFake(t0), Seed: 7, RootToken: rootSecret, Groups: 40, ProjectsPerGroup: 3, TokensPerProject: 2})
	if err != nil {
		t.Fatal(err)
	}
	st := s.st
	// erin: a member of a nested group and of a project elsewhere; rotate
	// and revoke a few tokens.
	erin, _ := s.CreateUser("erin", false)
	var nested *group
	for _, g := range st.groupList {
		if g.ParentID != 0 && nested == nil {
			nested = g
		}
	}
	if nested == nil {
		t.Fatal("no nested group generated")
	}
	if err := s.AddMember("group", nested.ID, erin.ID, 30); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember("project", st.projectList[len(st.projectList)-1].ID, erin.ID, 20); err != nil {
		t.Fatal(err)
	}
	for i, tk := range slices.Clone(st.tokens) {
		switch {
		case tk.ResourceType != "" && i%5 == 0:
			s.rotateToken(tk, tk.ExpiresAt, t0.Add(-40*24*time.Hour))
		case tk.ResourceType != "" && i%7 == 0:
			tk.Revoked, tk.RevokedAt = true, t0.Add(-31*24*time.Hour)
		}
	}
	var users []*user
	for _, u := range st.users {
		if !u.Bot || u.ID%50 == 0 {
			users = append(users, u)
		}
	}

	for _, now := range []time.Time{t0, t0.Add(45 * 24 * time.Hour), t0.Add(200 * 24 * time.Hour), t0.Add(420 * 24 * time.Hour)} {
		removed := fullScanRemovedBots(st, now)
		kept := 0
		for _, tk := range st.tokens {
			want := tk.ResourceType == "" || !removed[tk.UserID]
			if got := st.listed(tk, now); got != want {
				t.Fatalf("%s: token %d listed=%v, full scan says %v", now, tk.ID, got, want)
			}
			if want {
				kept++
			}
		}
		t.Logf("%s: %d of %d tokens listed", now.Format(time.DateOnly), kept, len(st.tokens))
		for _, kind := range []string{"group", "project"} {
			for id := int64(1); id <= max(int64(len(st.groups)), int64(len(st.projects))); id++ {
				var want []int64
				for _, tk := range st.tokens {
					if tk.ResourceType == kind && tk.ResourceID == id && !removed[tk.UserID] {
						want = append(want, tk.ID)
					}
				}
				if got := tokenIDs(s.resourceTokens(kind, id, now)); !slices.Equal(got, want) {
					t.Fatalf("%s: %s %d tokens %v, full scan %v", now, kind, id, got, want)
				}
			}
		}
	}

	for _, g := range st.groupList {
		if got := st.findGroup(strings.ToUpper(st.groupFullPath(g))); got != g {
			t.Errorf("findGroup(%q) = %v", st.groupFullPath(g), got)
		}
		var children, below []int64
		for _, x := range st.groupList {
			if x.ParentID == g.ID {
				children = append(children, x.ID)
			}
			if x != g && st.isDescendant(x, g.ID) {
				below = append(below, x.ID)
			}
		}
		if got := groupIDs(st.subgroups[g.ID]); !slices.Equal(got, children) {
			t.Errorf("subgroups of %d: %v, full scan %v", g.ID, got, children)
		}
		got := groupIDs(st.descendants(g))
		slices.Sort(got)
		if !slices.Equal(got, below) {
			t.Errorf("descendants of %d: %v, full scan %v", g.ID, got, below)
		}
	}
	var userIDs []int64
	for id := range st.users {
		userIDs = append(userIDs, id)
	}
	slices.Sort(userIDs)
	var listed []int64
	for _, u := range st.userList {
		listed = append(listed, u.ID)
	}
	if !slices.Equal(listed, userIDs) {
		t.Errorf("userList %v, users %v", listed, userIDs)
	}
	for _, p := range st.projectList {
		if got := st.findProject(strings.ToUpper(st.projectFullPath(p))); got != p {
			t.Errorf("findProject(%q) = %v", st.projectFullPath(p), got)
		}
	}
	for _, u := range users {
		vis := fullScanVisibleGroups(st, u)
		var member []int64
		for _, g := range st.groupList {
			if got := s.canSeeGroup(u, g); got != vis[g.ID] {
				t.Errorf("user %s: canSeeGroup(%s) = %v, full scan %v", u.Username, st.groupFullPath(g), got, vis[g.ID])
			}
			if st.groupLevel(u, g) > 0 {
				member = append(member, g.ID)
			}
		}
		if got := groupIDs(st.memberGroups(u)); !slices.Equal(got, member) {
			t.Errorf("user %s: memberGroups %v, full scan %v", u.Username, got, member)
		}
		var projects []int64
		for _, p := range st.projectList {
			if st.projectLevel(u, p) > 0 {
				projects = append(projects, p.ID)
			}
		}
		var got []int64
		for _, p := range st.memberProjects(u) {
			got = append(got, p.ID)
		}
		if !slices.Equal(got, projects) {
			t.Errorf("user %s: memberProjects %v, full scan %v", u.Username, got, projects)
		}
	}
}

// fullScanRemovedBots is the bot removal as a scan of every token.
func fullScanRemovedBots(st *store, now time.Time) map[int64]bool {
	live := map[int64]bool{}
	for _, t := range st.tokens {
		if t.ResourceType != "" && t.alive(now) {
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

// fullScanVisibleGroups: groups u is a member of (directly or through an
// ancestor), and the ancestors of anything it is a member of.
func fullScanVisibleGroups(st *store, u *user) map[int64]bool {
	out := map[int64]bool{}
	for _, g := range st.groupList {
		if u.Admin || st.groupLevel(u, g) > 0 {
			for _, a := range st.ancestors(g) {
				out[a.ID] = true
			}
		}
	}
	for k := range st.members {
		if k.UserID == u.ID && k.Kind == "project" {
			for _, a := range st.ancestors(st.groups[st.projects[k.ResourceID].NamespaceID]) {
				out[a.ID] = true
			}
		}
	}
	return out
}

func tokenIDs(ts []*token) []int64 {
	var out []int64
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func groupIDs(gs []*group) []int64 {
	var out []int64
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

// TestMemoryPerToken: the emulator holds a token, with its bot user and
// membership, in under 1 KiB of heap (issue 13), so that 100,000 tokens fit
// in about 100 MiB.
func TestMemoryPerToken(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := New(Options{Clock: clock.NewFake(t0), Seed: 1, RootToken: rootSecret, Groups: 100, ProjectsPerGroup: 10, TokensPerProject: 10})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := len(s.st.tokens)
	perToken := int64(after.HeapAlloc-before.HeapAlloc) / int64(n)
	t.Logf("%d tokens: %d bytes of heap each", n, perToken)
	if perToken >= 1024 {
		t.Errorf("%d bytes of heap per token, want under 1 KiB", perToken)
	}
	runtime.KeepAlive(s)
}
