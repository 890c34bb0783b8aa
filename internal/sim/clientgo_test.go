package sim

import (
	"errors"
	"net/http"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

func newClient(t *testing.T, base, token string) *gl.Client {
	t.Helper()
	c, err := gl.NewClient(token, gl.WithBaseURL(base+"/api/v4"), gl.WithCustomRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func statusOf(err error) int {
	if errors.Is(err, gl.ErrNotFound) {
		return http.StatusNotFound
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// TestClientGo proves that a real client parses the emulator's responses.
func TestClientGo(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	p, _ := s.ProjectByPath("platform/infra/app")
	for range 12 {
		platformToken(t, s, TokenSpec{Name: "bulk", Scopes: []string{"read_api"}})
	}
	alice := newClient(t, base, aliceSecret)
	root := newClient(t, base, rootSecret)
	date := func(s string) *gl.ISOTime { d, _ := time.Parse(time.DateOnly, s); v := gl.ISOTime(d); return &v }

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"ListGroupAccessTokens with gl.Scan over pages", func(t *testing.T) {
			it, hasErr := gl.Scan(func(po gl.PaginationOptionFunc) ([]*gl.GroupAccessToken, *gl.Response, error) {
				return alice.GroupAccessTokens.ListGroupAccessTokens("platform", &gl.ListGroupAccessTokensOptions{ListOptions: gl.ListOptions{PerPage: 5}}, po)
			})
			n := 0
			for tok := range it {
				n++
				if tok.AccessLevel == 0 || tok.CreatedAt == nil || len(tok.Scopes) == 0 {
					t.Errorf("token %+v", tok)
				}
			}
			if err := hasErr(); err != nil || n != 13 {
				t.Errorf("scanned %d tokens, err %v; want 13", n, err)
			}
		}},
		{"Response.NextPage and TotalItems", func(t *testing.T) {
			_, res, err := alice.GroupAccessTokens.ListGroupAccessTokens(1, &gl.ListGroupAccessTokensOptions{ListOptions: gl.ListOptions{PerPage: 5, Page: 2}})
			if err != nil || res.NextPage != 3 || res.PreviousPage != 1 || res.TotalItems != 13 || res.TotalPages != 3 || res.CurrentPage != 2 {
				t.Errorf("res %+v, err %v", res, err)
			}
		}},
		{"ListGroupAccessTokens state filter", func(t *testing.T) {
			state := gl.AccessTokenState("inactive")
			toks, _, err := alice.GroupAccessTokens.ListGroupAccessTokens(1, &gl.ListGroupAccessTokensOptions{State: &state})
			if err != nil || len(toks) != 0 {
				t.Errorf("inactive = %d, %v", len(toks), err)
			}
		}},
		{"CreateProjectAccessToken", func(t *testing.T) {
			lvl := gl.AccessLevelValue(30)
			tok, res, err := alice.ProjectAccessTokens.CreateProjectAccessToken(p.ID, &gl.CreateProjectAccessTokenOptions{
				Name: gl.Ptr("deploy"), Scopes: &[]string{"read_registry"}, AccessLevel: &lvl, ExpiresAt: date("2027-03-01")})
			if err != nil || res.StatusCode != http.StatusCreated {
				t.Fatalf("create: %v", err)
			}
			if tok.Token == "" || tok.AccessLevel != 30 || time.Time(*tok.ExpiresAt).Format(time.DateOnly) != "2027-03-01" || !tok.Active || tok.UserID == 0 {
				t.Errorf("created %+v", tok)
			}
		}},
		{"CreateGroupAccessToken permission error", func(t *testing.T) {
			bob := newClient(t, base, bobSecret)
			_, _, err := bob.GroupAccessTokens.CreateGroupAccessToken(1, &gl.CreateGroupAccessTokenOptions{Name: gl.Ptr("x"), Scopes: &[]string{"api"}})
			if statusOf(err) != 400 {
				t.Errorf("err = %v", err)
			}
		}},
		{"RotateGroupAccessToken", func(t *testing.T) {
			old, _, err := alice.GroupAccessTokens.GetGroupAccessToken(1, 11)
			if err != nil {
				t.Fatal(err)
			}
			nt, _, err := alice.GroupAccessTokens.RotateGroupAccessToken(1, 11, &gl.RotateGroupAccessTokenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if nt.ID == old.ID || nt.Name != old.Name || nt.UserID != old.UserID || nt.Token == "" ||
				time.Time(*nt.ExpiresAt).Format(time.DateOnly) != "2026-12-02" {
				t.Errorf("rotated %+v from %+v", nt, old)
			}
			_, _, err = alice.GroupAccessTokens.RotateGroupAccessToken(1, 11, nil)
			if statusOf(err) != 400 {
				t.Errorf("second rotate: %v", err)
			}
		}},
		{"RotateProjectAccessTokenSelf", func(t *testing.T) {
			bot := newClient(t, base, appBotSecret)
			nt, _, err := bot.ProjectAccessTokens.RotateProjectAccessTokenSelf(p.ID, &gl.RotateProjectAccessTokenOptions{ExpiresAt: date("2027-01-10")})
			if err != nil || nt.Name != "app-bot" || time.Time(*nt.ExpiresAt).Format(time.DateOnly) != "2027-01-10" {
				t.Errorf("self rotate %+v, %v", nt, err)
			}
		}},
		{"RevokeProjectAccessToken", func(t *testing.T) {
			toks, _, err := alice.ProjectAccessTokens.ListProjectAccessTokens(p.ID, nil)
			if err != nil || len(toks) == 0 {
				t.Fatalf("list: %v", err)
			}
			res, err := alice.ProjectAccessTokens.RevokeProjectAccessToken(p.ID, toks[0].ID)
			if err != nil || res.StatusCode != http.StatusNoContent {
				t.Fatalf("revoke: %v", err)
			}
			if got, _ := s.Token(toks[0].ID); !got.Revoked {
				t.Error("not revoked")
			}
			if _, err := alice.ProjectAccessTokens.RevokeProjectAccessToken(p.ID, 9999); statusOf(err) != 404 {
				t.Errorf("revoke unknown: %v", err)
			}
		}},
		{"ListPersonalAccessTokens as admin", func(t *testing.T) {
			toks, err := gl.ScanAndCollect(func(po gl.PaginationOptionFunc) ([]*gl.PersonalAccessToken, *gl.Response, error) {
				return root.PersonalAccessTokens.ListPersonalAccessTokens(&gl.ListPersonalAccessTokensOptions{UserID: gl.Ptr(int64(2)), ListOptions: gl.ListOptions{PerPage: 2}}, po)
			})
			if err != nil || len(toks) != 6 {
				t.Errorf("alice's tokens: %d, %v", len(toks), err)
			}
		}},
		{"GetSinglePersonalAccessToken (self)", func(t *testing.T) {
			tok, _, err := alice.PersonalAccessTokens.GetSinglePersonalAccessToken()
			if err != nil || tok.Name != "laptop" || tok.LastUsedAt == nil {
				t.Errorf("self %+v, %v", tok, err)
			}
		}},
		{"expired token error", func(t *testing.T) {
			_, _, err := newClient(t, base, expSecret).Users.CurrentUser()
			if statusOf(err) != 401 {
				t.Errorf("err = %v", err)
			}
		}},
		{"CreateVariable and GetVariable", func(t *testing.T) {
			v, _, err := alice.ProjectVariables.CreateVariable(p.ID, &gl.CreateProjectVariableOptions{
				Key: gl.Ptr("DEPLOY_TOKEN"), Value: gl.Ptr("glpat-abcdefghij"), Masked: gl.Ptr(true), Protected: gl.Ptr(true), EnvironmentScope: gl.Ptr("production")})
			if err != nil || !v.Masked || v.EnvironmentScope != "production" || v.Value != "glpat-abcdefghij" {
				t.Fatalf("create %+v, %v", v, err)
			}
			got, _, err := alice.ProjectVariables.GetVariable(p.ID, "DEPLOY_TOKEN", &gl.GetProjectVariableOptions{Filter: &gl.VariableFilter{EnvironmentScope: "production"}})
			if err != nil || got.Value != "glpat-abcdefghij" {
				t.Errorf("get %+v, %v", got, err)
			}
			gv, _, err := alice.GroupVariables.CreateVariable(1, &gl.CreateGroupVariableOptions{Key: gl.Ptr("H"), Value: gl.Ptr("hidden-value"), MaskedAndHidden: gl.Ptr(true)})
			if err != nil || !gv.Hidden || gv.Value != "" {
				t.Errorf("hidden %+v, %v", gv, err)
			}
			_, _, err = alice.ProjectVariables.CreateVariable(p.ID, &gl.CreateProjectVariableOptions{Key: gl.Ptr("BAD-KEY"), Value: gl.Ptr("x")})
			if statusOf(err) != 400 {
				t.Errorf("bad key: %v", err)
			}
		}},
		{"ListGroups and ListDescendantGroups", func(t *testing.T) {
			gs, _, err := alice.Groups.ListGroups(&gl.ListGroupsOptions{TopLevelOnly: gl.Ptr(true)})
			if err != nil || len(gs) != 1 || gs[0].FullPath != "platform" {
				t.Errorf("groups %v, %v", gs, err)
			}
			ds, _, err := alice.Groups.ListDescendantGroups("platform", nil)
			if err != nil || len(ds) != 1 || ds[0].ParentID != 1 {
				t.Errorf("descendants %v, %v", ds, err)
			}
			ps, _, err := alice.Groups.ListGroupProjects(1, &gl.ListGroupProjectsOptions{IncludeSubGroups: gl.Ptr(true)})
			if err != nil || len(ps) != 1 || ps[0].PathWithNamespace != "platform/infra/app" || ps[0].Namespace.FullPath != "platform/infra" {
				t.Errorf("projects %v, %v", ps, err)
			}
		}},
		{"GetInheritedProjectMember and GetGroupMember", func(t *testing.T) {
			m, _, err := alice.ProjectMembers.GetInheritedProjectMember(p.ID, 2)
			if err != nil || m.Username != "alice" || m.AccessLevel != gl.OwnerPermissions || m.State != "active" || m.CreatedAt == nil {
				t.Errorf("inherited member %+v, %v", m, err)
			}
			if _, _, err := alice.ProjectMembers.GetProjectMember(p.ID, 2); statusOf(err) != 404 {
				t.Errorf("direct member: %v, want 404", err)
			}
			gm, _, err := alice.GroupMembers.GetGroupMember("platform", 3)
			if err != nil || gm.AccessLevel != gl.DeveloperPermissions {
				t.Errorf("group member %+v, %v", gm, err)
			}
			if _, _, err := alice.GroupMembers.GetInheritedGroupMember(1, 5); statusOf(err) != 404 {
				t.Errorf("non-member: %v, want 404", err)
			}
		}},
		{"CurrentUser and admin create", func(t *testing.T) {
			u, _, err := root.Users.CurrentUser()
			if err != nil || !u.IsAdmin || u.Username != "root" {
				t.Errorf("user %+v, %v", u, err)
			}
			g, _, err := root.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr("New"), Path: gl.Ptr("new"), ParentID: gl.Ptr(int64(1))})
			if err != nil || g.FullPath != "platform/new" {
				t.Fatalf("group %+v, %v", g, err)
			}
			pr, _, err := root.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("svc"), NamespaceID: gl.Ptr(g.ID)})
			if err != nil || pr.PathWithNamespace != "platform/new/svc" {
				t.Errorf("project %+v, %v", pr, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}
