package gitlab_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// A group access token is a personal access token of a bot user: GitLab
// answers GET /personal_access_tokens/self for it, any scope, and its role
// on the group is its bot's membership.
func TestSelfTokenOfAGroupAccessToken(t *testing.T) {
	srv, url := startSim(t)
	g, _ := srv.CreateGroup("acme", 0)
	sub, _ := srv.CreateGroup("team", g.ID)
	tok, secret, err := srv.CreateAccessToken("group", g.ID, spec("tokenwarden", "manages tokens", []string{"read_api"}, 50, date(2026, 12, 3), nil))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url, secret, nil)
	ctx := context.Background()
	self, err := c.SelfToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if self.ID != tok.ID || self.Name != "tokenwarden" || !slices.Equal(self.Scopes, []string{"read_api"}) ||
		self.ExpiresAt == nil || !self.ExpiresAt.Equal(*date(2026, 12, 3)) {
		t.Errorf("SelfToken = %+v", self)
	}
	u, err := c.CurrentUser(ctx)
	if err != nil || !u.Bot {
		t.Fatalf("CurrentUser = %+v, %v", u, err)
	}
	for _, tc := range []struct {
		res  gitlab.Resource
		want int
	}{
		{gitlab.Resource{Type: "group", ID: g.ID, Path: "acme"}, 50},
		{gitlab.Resource{Type: "group", ID: sub.ID, Path: "acme/team"}, 50}, // inherited
	} {
		if got, err := c.MemberLevel(ctx, tc.res, u.ID); err != nil || got != tc.want {
			t.Errorf("MemberLevel(%s) = %d, %v; want %d", tc.res.Path, got, err, tc.want)
		}
	}
	other, _ := srv.CreateGroup("other", 0)
	if got, err := c.MemberLevel(ctx, gitlab.Resource{Type: "group", ID: other.ID, Path: "other"}, u.ID); err != nil || got != 0 {
		t.Errorf("MemberLevel(other) = %d, %v; want 0, nil", got, err)
	}
}

// Rotating the calling token answers with its successor; the old secret is
// dead at once, and presenting it to the rotate endpoint again revokes the
// successor too (GitLab's token reuse detection).
func TestRotateSelfAndReuseDetection(t *testing.T) {
	fake := clock.NewFake(simNow)
	srv, url := simtest.Start(t, sim.Options{Clock: fake, RootToken: rootToken})
	g, _ := srv.CreateGroup("acme", 0)
	_, old, err := srv.CreateAccessToken("group", g.ID, spec("tokenwarden", "", []string{"api"}, 50, date(2026, 12, 3), nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	oldC := newClient(t, url, old, nil)
	exp := time.Date(2027, 2, 23, 0, 0, 0, 0, time.UTC)
	nt, ns, err := oldC.RotateSelf(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	if nt.ExpiresAt == nil || !nt.ExpiresAt.Equal(exp) || ns.Reveal() == old {
		t.Fatalf("RotateSelf = %+v", nt)
	}
	newC := newClient(t, url, ns.Reveal(), nil)
	if _, err := newC.SelfToken(ctx); err != nil {
		t.Fatalf("new token: %v", err)
	}
	// The old secret on a read: rejected, the new one keeps working.
	if _, err := oldC.SelfToken(ctx); !errors.Is(err, gitlab.ErrTokenRejected) {
		t.Fatalf("old token on GET self: %v, want rejected", err)
	}
	if _, err := newC.SelfToken(ctx); err != nil {
		t.Fatalf("new token after a read with the old one: %v", err)
	}
	// The old secret on the rotate endpoint: the whole family is revoked.
	if _, _, err := oldC.RotateSelf(ctx, exp); !errors.Is(err, gitlab.ErrTokenRejected) {
		t.Fatalf("rotate with the old token: %v, want rejected", err)
	}
	if _, err := newC.SelfToken(ctx); !errors.Is(err, gitlab.ErrTokenRejected) {
		t.Fatalf("new token after reuse of the old one on rotate: %v, want rejected (revoked)", err)
	}
}
