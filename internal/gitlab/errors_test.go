package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// Every call, reads and writes alike, fails with a *gitlab.Error that says
// what was being done and carries GitLab's status: callers branch on
// gitlab.IsNotFound, gitlab.IsStatus and gitlab.Permanent, never on
// client-go's error types.
func TestWritesFailWithGitLabErrors(t *testing.T) {
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
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
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
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
