package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// deployWorld is a world whose managed token is deploy token "pull" of
// project acme/app (username registry-bot), due for rotation, delivered to
// a dotenv file and a CI/CD variable.
type deployWorld struct {
	*world
	creates atomic.Int64 // POST …/deploy_tokens
}

func newDeployWorld(t *testing.T) *deployWorld {
	t.Helper()
	dw := &deployWorld{world: &world{t: t}}
	w := dw.world
	w.World = simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodPost, `/deploy_tokens$`, func(string) { dw.creates.Add(1) })})
	exp := start.AddDate(0, 0, 5).Truncate(24 * time.Hour)
	old, sec, err := w.Srv.CreateDeployToken("project", w.Project.ID, sim.DeployTokenSpec{
		Name: "pull", Username: "registry-bot", Scopes: []string{"read_registry"}, ExpiresAt: &exp,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.oldID, w.oldValue = old.ID, sec
	w.Write("root.token", rootToken+"\n")
	w.Write("app.env", "# app settings\nLOG_LEVEL=info\nDEPLOY_TOKEN="+sec+"\n")
	w.Write("tw.yaml", fmt.Sprintf(`gitlab: {url: %s, token_file: root.token}
state: sqlite://tw.db
key_file: tw.key
defaults: {lifetime: 30d, grace: 1s}
tokens:
  - name: pull
    kind: deploy_token
    project: acme/app
    username: registry-bot
    scopes: [read_registry]
    deliver:
      - file: {path: app.env, format: dotenv, key: DEPLOY_TOKEN}
      - gitlab_variable: {project: acme/app, key: DEPLOY_TOKEN, masked: true}
`, w.URL))
	w.cfg, w.sealer = w.LoadConfig("tw.yaml")
	return dw
}

// checkDeploy asserts the invariant after any crash and recovery: exactly
// one deploy token named pull (marker aside) is left, live, not the old one;
// both sinks hold its secret, which the registry accepts for registry-bot;
// the old secret no longer works.
func (dw *deployWorld) checkDeploy() {
	t := dw.t
	t.Helper()
	var pulls []sim.DeployToken
	for _, d := range dw.Srv.DeployTokens() {
		if d.ResourceType == "project" && d.ResourceID == dw.Project.ID && strings.HasPrefix(d.Name, "pull") {
			pulls = append(pulls, d)
		}
	}
	if len(pulls) != 1 {
		t.Fatalf("want exactly one deploy token pull, got %d: %+v", len(pulls), pulls)
	}
	live := pulls[0]
	if live.ID == dw.oldID || live.Revoked {
		t.Fatalf("deploy token left is %+v (old %d)", live, dw.oldID)
	}
	if !strings.HasPrefix(live.Name, "pull [tokenwarden rot-") || live.Username != "registry-bot" ||
		len(live.Scopes) != 1 || live.Scopes[0] != "read_registry" {
		t.Errorf("new deploy token %+v: want name pull + marker, username registry-bot, scopes [read_registry]", live)
	}
	if live.ExpiresAt == nil {
		t.Error("new deploy token has no expiry")
	}
	fileSecret := dw.fileValue()
	if !dw.Srv.DeployTokenValid("registry-bot", fileSecret, "read_registry") {
		t.Error("the file sink's secret is not a live deploy token for registry-bot")
	}
	if dw.Srv.DeployTokenValid("registry-bot", dw.oldValue, "read_registry") {
		t.Error("the old deploy token still works")
	}
	v, ok := dw.Srv.Variable("project", dw.Project.ID, "DEPLOY_TOKEN", "*")
	if !ok || v.Value != fileSecret {
		t.Errorf("CI/CD variable does not hold the live secret (found=%v)", ok)
	}
	if got := dw.creates.Load(); got < 1 || got > 2 {
		t.Errorf("POST …/deploy_tokens sent %d times, want 1 (2 after a lost create)", got)
	}
}

func TestDeployTokenRotation(t *testing.T) {
	dw := newDeployWorld(t)
	outs := dw.apply(dw.engine(nil))
	if len(outs) != 1 || outs[0].Status != engine.StatusWaiting {
		t.Fatalf("outcomes %+v, want one waiting for the grace period", outs)
	}
	if !dw.Srv.DeployTokenValid("registry-bot", dw.oldValue, "read_registry") {
		t.Fatal("the old deploy token stopped working during the grace period")
	}
	dw.finish()
	dw.checkDeploy()
	if dw.creates.Load() != 1 {
		t.Errorf("created %d deploy tokens, want 1", dw.creates.Load())
	}
	p, err := dw.engine(nil).Plan(context.Background(), dw.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Changes() != 0 {
		t.Fatalf("second plan wants %d changes: %+v", p.Changes(), p.Items)
	}
	if p.Items[0].Current == nil || p.Items[0].Current.Kind != "deploy_token" {
		t.Fatalf("plan's current token %+v, want the new deploy token", p.Items[0].Current)
	}
}

// TestDeployTokenCrashAtEveryStep is TestCrashAtEveryStep for a deploy
// token: crash at every fault point (before and after each journaled step),
// run again as a new process, and check the invariant.
func TestDeployTokenCrashAtEveryStep(t *testing.T) {
	crashAtEveryStep(t, []string{"overlap"}, func(t *testing.T, _ string) (*world, func()) {
		dw := newDeployWorld(t)
		return dw.world, dw.checkDeploy
	})
}

// TestDeployTokenLostCreate: GitLab creates the deploy token but the answer
// is lost. The next run finds it by its marker, deletes it (its secret was
// never seen) and creates one successor; one live token is left.
func TestDeployTokenLostCreate(t *testing.T) {
	dw := newDeployWorld(t)
	dw.Srv.Faults().DropAfterCommit(http.MethodPost, `/deploy_tokens$`, 1)
	outs := dw.apply(dw.engine(nil))
	if len(outs) != 1 || outs[0].Status != engine.StatusRetry || outs[0].Rotation.Step != journal.StepPlanned {
		t.Fatalf("first run: want one rotation to retry at planned, got %+v", outs)
	}
	dw.finish()
	dw.checkDeploy()
	if got := dw.creates.Load(); got != 2 {
		t.Errorf("POST …/deploy_tokens sent %d times, want 2 (the lost one and its replacement)", got)
	}
}
