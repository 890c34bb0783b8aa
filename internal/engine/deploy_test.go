package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// deployWorld is a world whose managed token is deploy token "pull" of
// project acme/app, due for rotation, delivered with its username to a
// dotenv file (two keys), two CI/CD variables and a Docker config.json.
// With username "" every deploy token gets GitLab's own
// (gitlab+deploy-token-N): the username changes with each rotation, and
// only the create answer — then the journal — knows the new one.
type deployWorld struct {
	*world
	username    string // configured; "" → GitLab's default
	oldUsername string
	creates     atomic.Int64 // POST …/deploy_tokens
}

func newDeployWorld(t *testing.T, username string) *deployWorld {
	t.Helper()
	dw := &deployWorld{world: &world{t: t}, username: username}
	w := dw.world
	w.World = simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodPost, `/deploy_tokens$`, func(string) { dw.creates.Add(1) })})
	exp := start.AddDate(0, 0, 5).Truncate(24 * time.Hour)
	old, sec, err := w.Srv.CreateDeployToken("project", w.Project.ID, sim.DeployTokenSpec{
		Name: "pull", Username: username, Scopes: []string{"read_registry"}, ExpiresAt: &exp,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.oldID, w.oldValue, dw.oldUsername = old.ID, sec, old.Username
	w.Write("root.token", rootToken+"\n")
	w.Write("app.env", "# app settings\nLOG_LEVEL=info\nDEPLOY_TOKEN="+sec+"\nDEPLOY_USER="+old.Username+"\n")
	w.Write("docker-config.json", `{"auths": {"other.example.com": {"auth": "b3RoZXI6c2VjcmV0"}}, "psFormat": "table"}`)
	usernameLine := ""
	if username != "" {
		usernameLine = "\n    username: " + username
	}
	w.Write("tw.yaml", fmt.Sprintf(`gitlab: {url: %s, token_file: root.token}
state: sqlite://tw.db
key_file: tw.key
defaults: {lifetime: 30d, grace: 1s}
tokens:
  - name: pull
    kind: deploy_token
    project: acme/app%s
    scopes: [read_registry]
    deliver:
      - file: {path: app.env, format: dotenv, key: DEPLOY_TOKEN, username_key: DEPLOY_USER}
      - gitlab_variable: {project: acme/app, key: DEPLOY_TOKEN, username_key: DEPLOY_USER, masked: true}
      - file: {path: docker-config.json, format: docker_config, registry: registry.example.com}
`, w.URL, usernameLine))
	w.Load("tw.yaml")
	return dw
}

// checkDeploy asserts the invariant after any crash and recovery: exactly
// one deploy token named pull (marker aside) is left, live, not the old one;
// every sink holds its secret and its username, which the registry accepts
// together; the old secret no longer works.
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
	wantUser := dw.username
	if wantUser == "" {
		wantUser = fmt.Sprintf("gitlab+deploy-token-%d", live.ID)
	}
	if !strings.HasPrefix(live.Name, "pull [tokenwarden rot-") || live.Username != wantUser ||
		len(live.Scopes) != 1 || live.Scopes[0] != "read_registry" {
		t.Errorf("new deploy token %+v: want name pull + marker, username %s, scopes [read_registry]", live, wantUser)
	}
	if live.ExpiresAt == nil {
		t.Error("new deploy token has no expiry")
	}
	fileSecret, fileUser := dw.fileValue(), dw.dotenv("DEPLOY_USER")
	if fileUser != live.Username || !dw.Srv.DeployTokenValid(fileUser, fileSecret, "read_registry") {
		t.Errorf("the file sink holds user %q and a secret that is not its live deploy token (live: %s)", fileUser, live.Username)
	}
	if dw.Srv.DeployTokenValid(dw.oldUsername, dw.oldValue, "read_registry") {
		t.Error("the old deploy token still works")
	}
	v, ok := dw.Srv.Variable("project", dw.Project.ID, "DEPLOY_TOKEN", "*")
	if !ok || v.Value != fileSecret {
		t.Errorf("CI/CD variable does not hold the live secret (found=%v)", ok)
	}
	if u, ok := dw.Srv.Variable("project", dw.Project.ID, "DEPLOY_USER", "*"); !ok || u.Value != live.Username || u.Masked {
		t.Errorf("CI/CD variable DEPLOY_USER = %+v (found=%v), want %s unmasked", u, ok, live.Username)
	}
	wantAuth := base64.StdEncoding.EncodeToString([]byte(live.Username + ":" + fileSecret))
	var docker struct {
		Auths    map[string]struct{ Auth string } `json:"auths"`
		PSFormat string                           `json:"psFormat"`
	}
	if err := json.Unmarshal(dw.ReadFile("docker-config.json"), &docker); err != nil {
		t.Fatal(err)
	}
	if docker.Auths["registry.example.com"].Auth != wantAuth || docker.Auths["other.example.com"].Auth != "b3RoZXI6c2VjcmV0" || docker.PSFormat != "table" {
		t.Errorf("docker config.json: %+v; want the live credential for registry.example.com and the rest kept", docker)
	}
	if got := dw.creates.Load(); got < 1 || got > 2 {
		t.Errorf("POST …/deploy_tokens sent %d times, want 1 (2 after a lost create)", got)
	}
}

func TestDeployTokenRotation(t *testing.T) {
	dw := newDeployWorld(t, "registry-bot")
	outs := dw.Run(dw.NewEngine(nil))
	if len(outs) != 1 || outs[0].Status != engine.StatusWaiting {
		t.Fatalf("outcomes %+v, want one waiting for the grace period", outs)
	}
	if !dw.Srv.DeployTokenValid(dw.oldUsername, dw.oldValue, "read_registry") {
		t.Fatal("the old deploy token stopped working during the grace period")
	}
	dw.RunToEnd()
	dw.checkDeploy()
	if dw.creates.Load() != 1 {
		t.Errorf("created %d deploy tokens, want 1", dw.creates.Load())
	}
	p, err := dw.NewEngine(nil).Plan(context.Background(), dw.Cfg)
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
		dw := newDeployWorld(t, "")
		return dw.world, dw.checkDeploy
	})
}

// TestDeployTokenLostCreate: GitLab creates the deploy token but the answer
// is lost. The next run finds it by its marker, deletes it (its secret was
// never seen) and creates one successor; one live token is left.
func TestDeployTokenLostCreate(t *testing.T) {
	dw := newDeployWorld(t, "")
	dw.loseAnswer(http.MethodPost, `/deploy_tokens$`, dw.checkDeploy)
	if got := dw.creates.Load(); got != 2 {
		t.Errorf("POST …/deploy_tokens sent %d times, want 2 (the lost one and its replacement)", got)
	}
}
