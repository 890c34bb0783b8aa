package gitlab_test

import (
	"context"
	"errors"
	"fmt"
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

const rootToken = "glpat-root0000000000000000"

var simNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

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
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
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
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
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
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
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
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
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
