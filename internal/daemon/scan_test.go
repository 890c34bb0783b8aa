package daemon_test

import (
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
)

// GitLab paths are case-insensitive: a token the config names under
// another spelling of its project's path is managed, not flagged unmanaged
// (as revoke already treats it).
func TestManagedTokenMatchedWhateverThePathCase(t *testing.T) {
	w := newWorld(t)
	w.token("deploy", 200*day, 300*day)
	w.writeConfig(tokenSpec{"deploy", "overlap"})
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
