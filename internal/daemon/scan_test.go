package daemon_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// GitLab paths are case-insensitive: a token the config names under
// another spelling of its project's path is managed, not flagged unmanaged
// (as revoke already treats it).
func TestManagedTokenMatchedWhateverThePathCase(t *testing.T) {
	w, _ := managedWorld(t, "deploy", 200*day, 300*day)
	w.editConfig("project: acme/app", "project: ACME/App", "")
	p := w.start(nil)
	p.asleep(t)
	for _, tok := range p.d.State().Tokens {
		if tok.Name != "deploy" {
			continue
		}
		if tok.Ref != "project/ACME/App:deploy" {
			t.Errorf("the scanned token deploy has ref %q, want the config's project/ACME/App:deploy", tok.Ref)
		}
		for _, f := range tok.Findings {
			if f.Code == daemon.CodeUnmanaged {
				t.Errorf("the managed token is flagged %s: %s", f.Code, f.Message)
			}
		}
		return
	}
	t.Fatal("the scan did not find token deploy")
}

// serve.scan_variables: each scan also reads the CI/CD variables; a token
// found in one is identified (POST /admin/token: the managing token is an
// administrator) and its row says where it lives, with the variable's
// findings. The value never reaches the state.
func TestScanVariablesShowsWhereATokenLives(t *testing.T) {
	w := newWorld(t)
	exp := start.Add(-2 * day)
	old, oldSecret, err := w.Srv.CreateAccessToken("project", w.Project.ID, sim.TokenSpec{
		Name: "old-ci", Description: "old", Scopes: []string{"read_api"}, AccessLevel: 20, CreatedAt: exp.Add(-30 * day), ExpiresAt: &exp,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Srv.SetVariable("project", w.Project.ID, sim.Variable{Key: "CI_API_TOKEN", Value: oldSecret, Masked: true, Protected: true}); err != nil {
		t.Fatal(err)
	}
	w.writeConfig()
	w.editConfig("serve: {scan_interval: 30d}", "serve: {scan_interval: 30d, scan_variables: true}", "")
	p := w.start(nil)
	p.asleep(t)
	st := p.d.State()
	found := false
	for _, tok := range st.Tokens {
		if strings.Contains(fmt.Sprintf("%+v", tok), oldSecret) {
			t.Fatalf("the state holds the variable's value: %+v", tok)
		}
		if tok.ID != old.ID {
			if len(tok.Lives) > 0 {
				t.Errorf("token %s lives in %v", tok.Name, tok.Lives)
			}
			continue
		}
		found = true
		if want := []string{"project acme/app variable CI_API_TOKEN"}; !reflect.DeepEqual(tok.Lives, want) {
			t.Errorf("Lives = %q, want %q", tok.Lives, want)
		}
		codes := ""
		for _, f := range tok.Findings {
			codes += f.Code + ";"
			if f.Code == policy.CodeDeadTokenInVariable && !strings.HasPrefix(f.Message, "project acme/app variable CI_API_TOKEN: holds acme/app:old-ci") {
				t.Errorf("finding message %q", f.Message)
			}
		}
		if !strings.Contains(codes, policy.CodeDeadTokenInVariable+";") {
			t.Errorf("findings %s, want %s", codes, policy.CodeDeadTokenInVariable)
		}
	}
	if !found {
		t.Fatal("the scan did not find token old-ci")
	}
}

// On GitLab.com serve's scan reads each top-level group's access tokens
// from the group credentials inventory, as scan does, in one stream instead
// of a list per group and project; serve.credentials_inventory: false
// lists per resource.
func TestServeScanUsesCredentialsInventory(t *testing.T) {
	// The per-project token lists a first cycle (scan, then plan) makes.
	lists := map[bool]int64{}
	for _, use := range []bool{true, false} {
		var inventory, projectLists atomic.Int64
		w := newWorldWith(t, simtest.WorldOptions{Instance: sim.Options{SaaS: true},
			Wrap: func(h http.Handler) http.Handler {
				return simtest.Counting(http.MethodGet, `/manage/resource_access_tokens$`, func(string) { inventory.Add(1) })(
					simtest.Counting(http.MethodGet, `/projects/\d+/access_tokens$`, func(string) { projectLists.Add(1) })(h))
			}})
		tok := w.token("deploy", 200*day, 300*day)
		w.writeConfig(tokenSpec{"deploy", "overlap"})
		if !use {
			w.editConfig("serve: {scan_interval: 30d}", "serve: {scan_interval: 30d, credentials_inventory: false}", "")
		}
		p := w.start(nil)
		p.asleep(t)
		if !slices.ContainsFunc(p.d.State().Tokens, func(r daemon.Token) bool { return r.ID == tok.ID }) {
			t.Fatalf("credentials_inventory %v: the scan did not find token %d", use, tok.ID)
		}
		if got := inventory.Load(); (got > 0) != use {
			t.Errorf("credentials_inventory %v: %d inventory streams", use, got)
		}
		lists[use] = projectLists.Load()
	}
	if lists[true] >= lists[false] {
		t.Errorf("per-project token lists: %d with the inventory, %d without; want fewer with it", lists[true], lists[false])
	}
}
