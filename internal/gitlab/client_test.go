package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

var rootToken = simtest.RootToken

var simNow = simtest.Now

// startSim starts the emulator with the root token, on a fake clock at simNow.
func startSim(t *testing.T) (*sim.Server, string) {
	t.Helper()
	return simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
}

func newClient(t *testing.T, url, token string, clk clock.Clock) *gitlab.Client {
	t.Helper()
	c, err := gitlab.New(gitlab.Config{URL: url, Token: secret.New(token), RetryMax: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func date(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &t
}

func TestListingsMapTokens(t *testing.T) {
	srv, url := startSim(t)
	g, err := srv.CreateGroup("platform", 0)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := srv.CreateGroup("infra", g.ID)
	p, _ := srv.CreateProject("app", sub.ID)
	used := time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	if _, _, err := srv.CreateAccessToken("group", g.ID, spec("ci", "runs CI", []string{"read_api"}, 30, date(2026, 12, 1), &used)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.CreateAccessToken("project", p.ID, spec("deploy", "", []string{"api"}, 50, nil, nil)); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url, rootToken, nil)
	ctx := context.Background()

	grp, err := c.Group(ctx, "platform")
	if err != nil || grp.ID != g.ID || grp.Path != "platform" {
		t.Fatalf("Group = %+v, %v", grp, err)
	}
	desc, err := c.DescendantGroups(ctx, grp)
	if err != nil || len(desc) != 1 || desc[0].Path != "platform/infra" || desc[0].ParentID != g.ID {
		t.Fatalf("DescendantGroups = %+v, %v", desc, err)
	}
	projects, err := c.GroupProjects(ctx, grp, true)
	if err != nil || len(projects) != 1 || projects[0].Path != "platform/infra/app" {
		t.Fatalf("GroupProjects = %+v, %v", projects, err)
	}
	toks, err := c.GroupAccessTokens(ctx, grp)
	if err != nil || len(toks) != 1 {
		t.Fatalf("GroupAccessTokens = %+v, %v", toks, err)
	}
	got := toks[0]
	if got.Name != "ci" || got.Description != "runs CI" || got.AccessLevel != 30 || !got.Active ||
		got.Resource != (gitlab.Resource{Type: "group", ID: g.ID, Path: "platform"}) ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(*date(2026, 12, 1)) ||
		got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.State(simNow) != "active" {
		t.Errorf("group token = %+v", got)
	}
	ptoks, err := c.ProjectAccessTokens(ctx, projects[0])
	if err != nil || len(ptoks) != 1 || ptoks[0].Resource.Path != "platform/infra/app" || ptoks[0].ExpiresAt != nil || ptoks[0].LastUsedAt != nil {
		t.Fatalf("ProjectAccessTokens = %+v, %v", ptoks, err)
	}
	me, err := c.CurrentUser(ctx)
	if err != nil || me.Username != "root" || !me.Admin {
		t.Fatalf("CurrentUser = %+v, %v", me, err)
	}
	pats, err := c.PersonalAccessTokens(ctx, me)
	if err != nil || len(pats) != 1 || pats[0].Resource.Type != "user" || pats[0].Resource.Path != "root" {
		t.Fatalf("PersonalAccessTokens = %+v, %v", pats, err)
	}
}

func TestListingFollowsPages(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("big", 0)
	for i := range 250 {
		if _, _, err := srv.CreateAccessToken("group", g.ID, spec(fmt.Sprintf("t%03d", i), "x", []string{"read_api"}, 20, date(2027, 1, 1), nil)); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, url, rootToken, nil)
	toks, err := c.GroupAccessTokens(context.Background(), gitlab.Group{ID: g.ID, Path: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 250 || toks[249].Name != "t249" {
		t.Errorf("got %d tokens", len(toks))
	}
	if calls := c.Stats().Calls; calls != 3 {
		t.Errorf("%d calls for 250 tokens, want 3 (per_page=100)", calls)
	}
}

func TestErrorsSayWhatIsWrong(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("platform", 0)
	alice, _ := srv.CreateUser("alice", false)
	if err := srv.AddMember("group", g.ID, alice.ID, 30); err != nil {
		t.Fatal(err)
	}
	_, aliceTok, _ := srv.CreatePersonalToken(alice.ID, spec("a", "", []string{"api"}, 0, date(2027, 1, 1), nil))
	_, readUser, _ := srv.CreatePersonalToken(alice.ID, spec("b", "", []string{"read_user"}, 0, date(2027, 1, 1), nil))
	_, expired, _ := srv.CreatePersonalToken(alice.ID, spec("c", "", []string{"api"}, 0, date(2026, 11, 1), nil))
	revokedSpec := spec("d", "", []string{"api"}, 0, date(2027, 1, 1), nil)
	revokedSpec.Revoked = true
	_, revoked, _ := srv.CreatePersonalToken(alice.ID, revokedSpec)

	ctx := context.Background()
	platform := gitlab.Group{ID: g.ID, Path: "platform"}
	tests := []struct {
		name  string
		url   string
		token string
		call  func(*gitlab.Client) error
		kind  error
		msg   string
	}{
		{"unknown group", url, rootToken, func(c *gitlab.Client) error { _, err := c.Group(ctx, "nope/missing"); return err },
			gitlab.ErrNotFound, `group "nope/missing" not found`},
		{"scope missing", url, readUser, func(c *gitlab.Client) error { _, err := c.Groups(ctx, 0); return err },
			gitlab.ErrInsufficientScope, "the token lacks scope read_api (or api)"},
		{"role missing", url, aliceTok, func(c *gitlab.Client) error { _, err := c.GroupAccessTokens(ctx, platform); return err },
			gitlab.ErrNoPermission, `listing the access tokens of group "platform" needs the Owner role`},
		{"expired token", url, expired, func(c *gitlab.Client) error { _, err := c.CurrentUser(ctx); return err },
			gitlab.ErrTokenRejected, "the token was rejected: Token is expired"},
		{"revoked token", url, revoked, func(c *gitlab.Client) error { _, err := c.CurrentUser(ctx); return err },
			gitlab.ErrTokenRejected, "the token was rejected: Token was revoked"},
		{"unknown token", url, "glpat-nobody0000000000000", func(c *gitlab.Client) error { _, err := c.CurrentUser(ctx); return err },
			gitlab.ErrTokenRejected, "the token was rejected (expired, revoked or unknown)"},
		{"unreachable", "http://127.0.0.1:1", rootToken, func(c *gitlab.Client) error { _, err := c.CurrentUser(ctx); return err },
			gitlab.ErrUnreachable, "cannot reach GitLab at http://127.0.0.1:1: dial tcp 127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newClient(t, tt.url, tt.token, nil))
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %v is not %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), "glpat-") {
				t.Errorf("error leaks a token: %q", err)
			}
		})
	}
}

// With a rate limit, concurrent requests wait for the next window instead
// of running into 429s.
func TestPacerKeepsUnderTheRateLimit(t *testing.T) {
	fake := clock.NewFake(simNow)
	srv, url := simtest.Start(t, sim.Options{Clock: fake, RootToken: rootToken, RateLimit: 5})
	c := newClient(t, url, rootToken, fake)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Move the clock on whenever every worker waits for the budget.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				if fake.Waiters() > 0 {
					fake.Advance(time.Minute)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 3 {
		wg.Go(func() {
			for range 4 {
				if _, err := c.CurrentUser(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.Stats().Throttled; n != 0 {
		t.Errorf("GitLab answered %d times with 429", n)
	}
	if st := c.Stats(); st.Calls != 12 || st.Throttled != 0 {
		t.Errorf("client stats = %+v, want 12 calls, 0 throttled", st)
	}
	if fake.Now().Sub(simNow) < 2*time.Minute {
		t.Errorf("12 requests at 5/min took only until %v: the pacer did not wait", fake.Now())
	}
}

// A read that keeps being throttled after client-go's retries waits
// Retry-After and goes on.
func TestThrottledReadsAreNotFatal(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Retry-After")
	}
	srv, url := startSim(t)
	if _, err := srv.CreateGroup("platform", 0); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url, rootToken, nil) // RetryMax 1: two tries per round
	srv.Faults().Throttle(3)
	gs, err := c.Groups(context.Background(), 0)
	if err != nil || len(gs) != 1 {
		t.Fatalf("Groups = %v, %v", gs, err)
	}
	if st := c.Stats(); st.Throttled != 3 || st.Calls != 4 {
		t.Errorf("client stats = %+v, want 3 throttled of 4 calls", st)
	}
}

func spec(name, desc string, scopes []string, level int, expires, lastUsed *time.Time) sim.TokenSpec {
	return sim.TokenSpec{Name: name, Description: desc, Scopes: scopes, AccessLevel: level,
		CreatedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), ExpiresAt: expires, LastUsedAt: lastUsed}
}

// Every call, reads and writes alike, fails with a *gitlab.Error that says
// what was being done and carries GitLab's status: callers branch on
// gitlab.IsNotFound, gitlab.IsStatus and gitlab.Permanent, never on
// client-go's error types.
func TestWritesFailWithGitLabErrors(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("platform", 0)
	p, _ := srv.CreateProject("app", g.ID)
	alice, _ := srv.CreateUser("alice", false)
	if err := srv.AddMember("project", p.ID, alice.ID, 30); err != nil {
		t.Fatal(err)
	}
	_, aliceTok, _ := srv.CreatePersonalToken(alice.ID, spec("a", "", []string{"api"}, 0, date(2027, 1, 1), nil))
	victim, _, _ := srv.CreateAccessToken("project", p.ID, spec("deploy", "", []string{"api"}, 30, date(2027, 1, 1), nil))

	ctx := context.Background()
	app := gitlab.Resource{Type: "project", ID: p.ID, Path: "platform/app"}
	mint := gitlab.MintSpec{Name: "ci", Scopes: []string{"api"}, AccessLevel: 30, ExpiresAt: simNow.AddDate(0, 1, 0)}
	tests := []struct {
		name      string
		url, tok  string
		call      func(*gitlab.Client) error
		status    int
		permanent bool
		kind      error
		msg       string
	}{
		{"create in a group that does not exist", url, rootToken, func(c *gitlab.Client) error {
			_, _, err := c.CreateAccessToken(ctx, gitlab.Resource{Type: "group", Path: "nope"}, mint)
			return err
		}, http.StatusNotFound, true, gitlab.ErrNotFound, `create token "ci" in group nope: GitLab answered 404`},
		{"create without the role", url, aliceTok, func(c *gitlab.Client) error {
			_, _, err := c.CreateAccessToken(ctx, app, mint)
			return err
		}, 0, true, nil, `create token "ci" in project platform/app: `},
		{"rotate a token that does not exist", url, rootToken, func(c *gitlab.Client) error {
			_, _, err := c.RotateAccessToken(ctx, app, 999999, simNow.AddDate(0, 1, 0))
			return err
		}, http.StatusNotFound, true, gitlab.ErrNotFound, "rotate token 999999 in project platform/app"},
		{"revoke without the role", url, aliceTok, func(c *gitlab.Client) error {
			_, err := c.RevokeToken(ctx, app, victim.ID)
			return err
		}, 0, true, nil, "revoke token"},
		{"probe with a token GitLab does not know", url, "glpat-nobody0000000000000", func(c *gitlab.Client) error {
			return c.Probe(ctx, http.MethodGet, "/api/v4/user")
		}, http.StatusUnauthorized, true, gitlab.ErrTokenRejected, "GET /api/v4/user: the token was rejected"},
		{"create with nobody listening", "http://127.0.0.1:1", rootToken, func(c *gitlab.Client) error {
			_, _, err := c.CreateAccessToken(ctx, app, mint)
			return err
		}, 0, false, gitlab.ErrUnreachable, `create token "ci" in project platform/app: cannot reach GitLab at http://127.0.0.1:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newClient(t, tt.url, tt.tok, nil))
			t.Log(err)
			ge, ok := gitlab.AsError(err)
			if !ok {
				t.Fatalf("error %v (%T) is not a *gitlab.Error", err, err)
			}
			if tt.status != 0 && ge.Status != tt.status {
				t.Errorf("status %d, want %d", ge.Status, tt.status)
			}
			if tt.status == 0 && tt.permanent && (ge.Status < 400 || ge.Status >= 500) {
				t.Errorf("status %d, want a 4xx refusal", ge.Status)
			}
			if gitlab.Permanent(err) != tt.permanent {
				t.Errorf("Permanent = %v, want %v", !tt.permanent, tt.permanent)
			}
			if gitlab.IsNotFound(err) != (tt.status == http.StatusNotFound) {
				t.Errorf("IsNotFound = %v for status %d", gitlab.IsNotFound(err), ge.Status)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if ge.Reason == "" || !strings.HasSuffix(err.Error(), ge.Reason) || strings.Contains(err.Error(), "glpat-") {
				t.Errorf("error %q: reason %q, or it leaks a token", err, ge.Reason)
			}
		})
	}
}

// A revocation of a token that is already gone is no error.
func TestRevokeGoneIsNoError(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("platform", 0)
	c := newClient(t, url, rootToken, nil)
	gone, err := c.RevokeToken(context.Background(), gitlab.Resource{Type: "group", ID: g.ID, Path: "platform"}, 424242)
	if err != nil || !gone {
		t.Fatalf("RevokeToken of a missing token = %v, %v; want already gone", gone, err)
	}
}

// The predicates see through wrapping, and a cancellation is never a refusal.
func TestPredicatesThroughWrapping(t *testing.T) {
	e := &gitlab.Error{Kind: gitlab.ErrNoPermission, Status: http.StatusForbidden, Message: "forbidden"}
	wrapped := errors.Join(errors.New("deliver"), e)
	if !gitlab.Permanent(wrapped) || !gitlab.IsStatus(wrapped, http.StatusForbidden) || gitlab.StatusOf(wrapped) != 403 {
		t.Errorf("predicates do not see the wrapped *Error")
	}
	throttled := &gitlab.Error{Kind: gitlab.ErrRateLimited, Status: http.StatusTooManyRequests}
	for _, err := range []error{nil, context.Canceled, throttled, &gitlab.Error{Kind: gitlab.ErrTimeout}} {
		if gitlab.Permanent(err) || gitlab.IsNotFound(err) {
			t.Errorf("%v counts as permanent or not found", err)
		}
	}
	if !errors.Is(&gitlab.Error{Kind: gitlab.ErrTimeout}, gitlab.ErrUnreachable) {
		t.Error("a timeout does not count as unreachable")
	}
}

// One variables API for groups and projects: the same calls read, create
// and update a variable of either, by path or by id, per environment scope.
func TestVariablesOfGroupsAndProjects(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("platform", 0)
	p, _ := srv.CreateProject("app.v2", g.ID) // a dot: the path must be escaped
	c := newClient(t, url, rootToken, nil)
	ctx := context.Background()

	for _, res := range []gitlab.Resource{
		{Type: "group", Path: "platform"},
		{Type: "project", Path: "platform/app.v2"},
		{Type: "project", ID: p.ID, Path: "platform/app.v2"},
	} {
		t.Run(res.Type+"/"+res.Path, func(t *testing.T) {
			key := "K_" + strings.ToUpper(res.Type)
			if res.ID != 0 {
				key += "_BY_ID"
			}
			if _, err := c.Variable(ctx, res, key, "*"); !gitlab.IsNotFound(err) {
				t.Fatalf("reading a missing variable: %v, want not found", err)
			}
			want := gitlab.Variable{Key: key, Value: "glpat-valuevaluevalue01", Masked: true, Protected: true,
				Scope: "production", Description: "managed"}
			got, err := c.CreateVariable(ctx, res, want)
			if err != nil || got != want {
				t.Fatalf("CreateVariable = %+v, %v; want %+v", got, err, want)
			}
			_, err = c.CreateVariable(ctx, res, want)
			if ge, ok := gitlab.AsError(err); !ok || ge.Status != http.StatusBadRequest || !strings.Contains(ge.APIMessage, "has already been taken") {
				t.Fatalf("creating it again: %v; want 400 has already been taken", err)
			}
			if _, err := c.Variable(ctx, res, key, "*"); !gitlab.IsNotFound(err) {
				t.Fatalf("the variable exists in scope production only, but scope * reads %v", err)
			}
			want.Value, want.Masked, want.Description = "a value with spaces", false, "changed"
			if got, err = c.UpdateVariable(ctx, res, want); err != nil || got != want {
				t.Fatalf("UpdateVariable = %+v, %v; want %+v", got, err, want)
			}
			if got, err = c.Variable(ctx, res, key, "production"); err != nil || got != want {
				t.Fatalf("Variable = %+v, %v; want %+v", got, err, want)
			}
			hidden := gitlab.Variable{Key: key + "_H", Value: "glpat-hiddenhiddenhid", Hidden: true, Masked: true, Scope: "*"}
			if _, err := c.CreateVariable(ctx, res, hidden); err != nil {
				t.Fatal(err)
			}
			if got, err = c.Variable(ctx, res, hidden.Key, "*"); err != nil || !got.Hidden || got.Value != "" {
				t.Fatalf("hidden variable reads %+v, %v; want hidden without its value", got, err)
			}
		})
	}
	if v, ok := srv.Variable("project", p.ID, "K_PROJECT", "production"); !ok || v.Value != "a value with spaces" {
		t.Errorf("the emulator holds %+v, %v", v, ok)
	}
}

// What doctor asks about the calling token's reach: a project by path, the
// user's membership (not a member: IsNotFound), the token's associations,
// and an administrator's lookup of an expired token.
func TestMembershipAndLookups(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("platform", 0)
	p, _ := srv.CreateProject("app", g.ID)
	other, _ := srv.CreateProject("other", g.ID)
	alice, _ := srv.CreateUser("alice", false)
	if err := srv.AddMember("project", p.ID, alice.ID, 40); err != nil {
		t.Fatal(err)
	}
	_, aliceTok, _ := srv.CreatePersonalToken(alice.ID, spec("a", "", []string{"api"}, 0, date(2027, 1, 1), nil))
	_, expired, _ := srv.CreatePersonalToken(alice.ID, spec("old", "", []string{"api"}, 0, date(2026, 11, 1), nil))
	c := newClient(t, url, aliceTok, nil)
	ctx := context.Background()

	proj, err := c.Project(ctx, "platform/app")
	if err != nil || proj.ID != p.ID || proj.Path != "platform/app" || proj.Visibility == "" {
		t.Fatalf("Project = %+v, %v", proj, err)
	}
	if _, err := c.Project(ctx, "platform/nope"); !gitlab.IsNotFound(err) || !strings.Contains(err.Error(), `project "platform/nope" not found`) {
		t.Errorf("Project of a missing path: %v", err)
	}
	app := gitlab.Resource{Type: "project", ID: p.ID}
	if m, err := c.Member(ctx, app, alice.ID); err != nil || m.Level != 40 || m.Username != "alice" {
		t.Errorf("Member = %+v, %v; want maintainer alice", m, err)
	}
	if _, err := c.Member(ctx, gitlab.Resource{Type: "project", ID: other.ID}, alice.ID); !gitlab.IsNotFound(err) {
		t.Errorf("Member of a project alice is not in: %v, want not found", err)
	}
	if l, err := c.MemberLevel(ctx, gitlab.Resource{Type: "project", ID: other.ID}, alice.ID); err != nil || l != 0 {
		t.Errorf("MemberLevel where not a member = %d, %v; want 0", l, err)
	}
	if l, err := c.AssociatedLevel(ctx, app); err != nil || l != 40 {
		t.Errorf("AssociatedLevel = %d, %v; want 40", l, err)
	}
	if l, err := c.AssociatedLevel(ctx, gitlab.Resource{Type: "group", ID: g.ID}); err != nil || l != 0 {
		t.Errorf("AssociatedLevel of a group alice is not in = %d, %v; want 0", l, err)
	}

	tok, err := newClient(t, url, rootToken, nil).LookupToken(ctx, secret.New(expired))
	if err != nil || tok.Name != "old" || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(*date(2026, 11, 1)) {
		t.Errorf("LookupToken = %+v, %v", tok, err)
	}
	_, err = c.LookupToken(ctx, secret.New(expired))
	if gitlab.StatusOf(err) != http.StatusForbidden || strings.Contains(err.Error(), expired) {
		t.Errorf("LookupToken by a non-admin: %v; want 403 without the secret", err)
	}
}

// TestVariablesListsEveryPage: Variables follows the pages (over 100
// variables) and reads a hidden variable's null value as empty.
func TestVariablesListsEveryPage(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("platform", 0)
	p, _ := srv.CreateProject("app", g.ID)
	c := newClient(t, url, rootToken, nil)
	ctx := context.Background()
	res := gitlab.Resource{Type: "project", ID: p.ID, Path: "platform/app"}
	for i := range 101 {
		if _, err := c.CreateVariable(ctx, res, gitlab.Variable{Key: fmt.Sprintf("V%03d", i), Value: "value-" + strconv.Itoa(i), Scope: "*"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateVariable(ctx, res, gitlab.Variable{Key: "HIDDEN", Value: "glpat-AbCdEfGhIjKlMnOp1234", Hidden: true, Scope: "*"}); err != nil {
		t.Fatal(err)
	}
	before := c.Stats().Calls
	vs, err := c.Variables(ctx, res)
	if err != nil || len(vs) != 102 {
		t.Fatalf("Variables = %d, %v; want 102", len(vs), err)
	}
	if calls := c.Stats().Calls - before; calls != 2 {
		t.Errorf("Variables made %d calls, want 2 (100 a page)", calls)
	}
	last := vs[101]
	if last.Key != "HIDDEN" || !last.Hidden || !last.Masked || last.Value != "" || last.File {
		t.Errorf("hidden variable = %+v", last)
	}
	if _, err := c.Variables(ctx, gitlab.Resource{Type: "group", ID: 999, Path: "nope"}); !gitlab.IsNotFound(err) {
		t.Errorf("Variables of a missing group: %v", err)
	}
}

// TestForTokenIdentifiesByUse: a client for a found token reads that
// token's own record (and its dead state as an error).
func TestForTokenIdentifiesByUse(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("platform", 0)
	tok, live, err := srv.CreateAccessToken("group", g.ID, spec("ci", "runs CI", []string{"read_api"}, 30, date(2026, 12, 31), nil))
	if err != nil {
		t.Fatal(err)
	}
	_, old, _ := srv.CreateAccessToken("group", g.ID, spec("old", "", []string{"read_api"}, 30, date(2026, 11, 1), nil))
	c := newClient(t, url, rootToken, nil)
	ctx := context.Background()
	byUse, err := c.ForToken(secret.New(live))
	if err != nil {
		t.Fatal(err)
	}
	self, err := byUse.SelfToken(ctx)
	if err != nil || self.ID != tok.ID || self.Name != "ci" {
		t.Errorf("SelfToken by use = %+v, %v", self, err)
	}
	dead, _ := c.ForToken(secret.New(old))
	_, err = dead.SelfToken(ctx)
	e, ok := gitlab.AsError(err)
	if !ok || e.Status != http.StatusUnauthorized || !strings.Contains(e.Description, "expired") || strings.Contains(err.Error(), old) {
		t.Errorf("SelfToken of an expired token: %#v", err)
	}
}
