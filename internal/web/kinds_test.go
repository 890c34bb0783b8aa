package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// The dashboard shows each token's kind (issue 12).
func TestDashboardShowsKind(t *testing.T) {
	s, c := siteWithDeployTokens(t, map[int64]string{21: "k8s-pull"})
	_, page := s.do(c, "GET", "/tokens", nil, nil)
	for _, want := range []string{`<th scope="col">Kind</th>`, `<td>deploy_token</td>`, `<td>project_access_token</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("tokens page lacks %s", want)
		}
	}
	_, page = s.do(c, "GET", "/tokens/deploy_token/21", nil, nil)
	if !strings.Contains(page, "<dt>Kind</dt><dd>deploy_token</dd>") {
		t.Error("token page lacks its kind")
	}
}

// siteWithDeployTokens is newSite whose state also has deploy tokens in
// acme/app (id → name), and a client logged in to it.
func siteWithDeployTokens(t *testing.T, deploy map[int64]string) (*site, *http.Client) {
	s := newSite(t, false)
	st := fixedState()
	for id, name := range deploy {
		dep := gitlab.Token{ID: id, Kind: gitlab.KindDeployToken, Name: name, Username: fmt.Sprintf("gitlab+deploy-token-%d", id),
			Resource: gitlab.Resource{Type: "project", Path: "acme/app"}, Active: true, Scopes: []string{"read_registry"}}
		st.Tokens = append(st.Tokens, daemon.Token{Row: policy.Row{Token: dep, State: gitlab.StateActive}})
	}
	s.be.mu.Lock()
	s.be.state = st
	s.be.mu.Unlock()
	c := s.client()
	s.login(c)
	return s, c
}

// GitLab numbers each kind on its own: a deploy token can have the id of
// an access token. The overview counts tokens by kind, each count a link
// to the kind's tokens. Each has its page, at its kind and id; the tokens page
// links each row to its own; the kind filter (server-side, like q) keeps
// one kind, and its pages' links keep it. A link from before tokens were
// keyed by kind (/tokens/12) leads to the access token of that id.
func TestTokensOfTwoKindsWithOneID(t *testing.T) {
	s, c := siteWithDeployTokens(t, map[int64]string{12: "pull-0", 11: "pull-1", 10: "pull-2"})

	_, page := s.do(c, "GET", "/tokens/deploy_token/12", nil, nil)
	if !strings.Contains(page, "Token pull-0") || !strings.Contains(page, "<dt>Kind</dt><dd>deploy_token</dd>") || strings.Contains(page, "Rotate now") {
		t.Errorf("/tokens/deploy_token/12 is not the deploy token's page:\n%s", page)
	}
	_, page = s.do(c, "GET", "/tokens/project_access_token/12", nil, nil)
	if !strings.Contains(page, "Token deploy") || !strings.Contains(page, "<dt>Kind</dt><dd>project_access_token</dd>") ||
		!strings.Contains(page, `action="/tokens/project_access_token/12/rotate"`) {
		t.Errorf("/tokens/project_access_token/12 is not the access token's page:\n%s", page)
	}
	for path, code := range map[string]int{"/tokens/runner_token/12": 404, "/tokens/deploy_token/13": 404, "/tokens/nope/12": 404} {
		if resp, _ := s.do(c, "GET", path, nil, nil); resp.StatusCode != code {
			t.Errorf("%s: %s, want %d", path, resp.Status, code)
		}
	}
	resp, _ := s.do(c, "GET", "/tokens/12", nil, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "/tokens/project_access_token/12" {
		t.Errorf("/tokens/12: %s to %q, want 301 to the access token's page", resp.Status, loc)
	}

	_, page = s.do(c, "GET", "/", nil, nil)
	for _, want := range []string{
		`<a href="/tokens?kind=group_access_token"><span class="n">1</span> <span class="badge">group_access_token</span></a>`,
		`<a href="/tokens?kind=project_access_token"><span class="n">2</span> <span class="badge">project_access_token</span></a>`,
		`<a href="/tokens?kind=deploy_token"><span class="n">3</span> <span class="badge">deploy_token</span></a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	_, page = s.do(c, "GET", "/tokens", nil, nil)
	for _, want := range []string{`<a href="/tokens/deploy_token/12">pull-0</a>`, `<a href="/tokens/project_access_token/12">deploy</a>`,
		`<option value="deploy_token">deploy_token</option>`} {
		if !strings.Contains(page, want) {
			t.Errorf("/tokens lacks %s", want)
		}
	}
	_, page = s.do(c, "GET", "/tokens?kind=deploy_token&per_page=2&sort=name", nil, nil)
	rows := regexp.MustCompile(`<th scope="row"><a href="(/tokens/[a-z_]+/\d+)">`).FindAllStringSubmatch(page, -1)
	if len(rows) != 2 || rows[0][1] != "/tokens/deploy_token/12" || rows[1][1] != "/tokens/deploy_token/11" {
		t.Errorf("kind=deploy_token, page 1: rows %v, want deploy tokens 12 and 11", rows)
	}
	if !strings.Contains(page, `<option value="deploy_token" selected>`) || !strings.Contains(page, "of 3 matching") {
		t.Error("kind=deploy_token: the filter is not shown selected, or the count is not 3")
	}
	if !strings.Contains(page, `href="/tokens?kind=deploy_token&amp;page=2&amp;per_page=2&amp;sort=name" rel="next"`) {
		t.Errorf("the next page's link drops the kind filter:\n%s", page)
	}
}

// A script that rotates by the path from before tokens were keyed by kind
// (POST /tokens/12/rotate with the password as a bearer token) still
// rotates the access token of that id.
func TestRotateByAccessTokenIDStillWorks(t *testing.T) {
	s := newSite(t, false)
	resp, body := s.do(s.client(), "POST", "/tokens/12/rotate", url.Values{}, map[string]string{"Authorization": "Bearer " + password})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Rotated project/acme/app:deploy") {
		t.Errorf("POST /tokens/12/rotate: %s %q", resp.Status, body)
	}
	if got := s.be.rotations(); len(got) != 1 || got[0] != "project/acme/app:deploy" {
		t.Errorf("rotations requested: %v", got)
	}
}
