package web_test

import (
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// The dashboard shows each token's kind (issue 12).
func TestDashboardShowsKind(t *testing.T) {
	s := newSite(t, false)
	dep := gitlab.Token{ID: 21, Kind: gitlab.KindDeployToken, Name: "k8s-pull", Username: "gitlab+deploy-token-21",
		Resource: gitlab.Resource{Type: "project", Path: "acme/app"}, Active: true, Scopes: []string{"read_registry"}}
	st := fixedState()
	st.Tokens = append(st.Tokens, daemon.Token{Row: policy.Row{Token: dep, State: gitlab.StateActive}})
	s.be.mu.Lock()
	s.be.state = st
	s.be.mu.Unlock()
	c := s.client()
	s.login(c)
	_, page := s.do(c, "GET", "/tokens", nil, nil)
	for _, want := range []string{`<th scope="col">Kind</th>`, `<td>deploy_token</td>`, `<td>project_access_token</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("tokens page lacks %s", want)
		}
	}
	_, page = s.do(c, "GET", "/tokens/21", nil, nil)
	if !strings.Contains(page, "<dt>Kind</dt><dd>deploy_token</dd>") {
		t.Error("token page lacks its kind")
	}
}
