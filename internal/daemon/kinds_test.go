package daemon_test

import (
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// GitLab numbers each kind of credential on its own: a deploy token and a
// project access token can have the same id. serve (serve.kinds) lists
// both, each keyed by kind and id: in the state, and in the notifications,
// which the notifier de-duplicates — one must not silence the other.
func TestServeKeepsCredentialsOfTwoKindsWithOneID(t *testing.T) {
	w := newWorld(t)
	pat := w.token("ci", 20*day, 300*day)
	exp := start.Add(20 * day)
	var dep sim.DeployToken
	for dep.ID < pat.ID {
		var err error
		if dep, _, err = w.Srv.CreateDeployToken("project", w.Project.ID, sim.DeployTokenSpec{
			Name: "ci", Scopes: []string{"read_registry"}, CreatedAt: start.Add(-100 * day), ExpiresAt: &exp}); err != nil {
			t.Fatal(err)
		}
	}
	if dep.ID != pat.ID {
		t.Fatalf("deploy token id %d, access token id %d: the emulator numbers them together", dep.ID, pat.ID)
	}
	w.writeConfig()
	w.editConfig("serve: {scan_interval: 30d}", "serve: {scan_interval: 30d, kinds: [project_access_token, deploy_token]}", "")
	p := w.start(nil)
	p.asleep(t)

	st := p.d.State()
	found := map[string]bool{}
	for _, tok := range st.Tokens {
		if tok.ID != pat.ID || tok.Name != "ci" {
			continue
		}
		found[tok.TokenKind()] = true
		if !hasFinding(tok, daemon.CodeUnmanaged) || !hasFinding(tok, "expires-soon") {
			t.Errorf("%s %d: findings %+v, want unmanaged and expires-soon", tok.TokenKind(), tok.ID, tok.Findings)
		}
	}
	for _, k := range []string{gitlab.KindProjectAccessToken, gitlab.KindDeployToken} {
		if !found[k] {
			t.Errorf("the state lacks the %s %d named ci (found %v)", k, pat.ID, found)
		}
	}
	keys := map[string]notify.Event{}
	for _, e := range w.events.all() {
		if e.Kind == notify.KindExpiring && e.Token.Name == "ci" {
			keys[e.DedupKey()] = e
		}
	}
	if len(keys) != 2 {
		t.Errorf("expiring notifications with %d distinct de-duplication keys, want 2 (one per kind): %v", len(keys), keys)
	}
}

func hasFinding(t daemon.Token, code string) bool {
	for _, f := range t.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

func (r *recorder) all() []notify.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Event(nil), r.events...)
}
