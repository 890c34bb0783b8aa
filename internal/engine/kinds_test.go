package engine_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// rootID is the emulator's administrator, whose token is the managing one.
const rootID = 1

// triggerToken is a world's managed token as pipeline trigger token
// "deploy" (its description) of project acme/app, owned by the managing
// token's user.
var triggerToken = kindSetup{
	mintRE: `/triggers$`,
	old: func(w *world, exp time.Time) (int64, string) {
		return oldTrigger(w, rootID, exp)
	},
	entry: func(*world) string { return "    kind: trigger_token\n    project: acme/app\n" },
	check: checkTrigger,
}

func oldTrigger(w *world, owner int64, exp time.Time) (int64, string) {
	old, sec, err := w.Srv.CreateTrigger(w.Project.ID, owner, sim.TriggerSpec{Description: "deploy", ExpiresAt: &exp})
	if err != nil {
		w.t.Fatal(err)
	}
	return old.ID, sec
}

func newTriggerWorld(t *testing.T) *world { return newKindWorld(t, "overlap", triggerToken) }

// checkTrigger asserts the invariant after any crash and recovery: exactly
// one trigger token "deploy" (marker aside), not the old one, owned by the
// managing user, with an expiry; both sinks hold its secret, which triggers
// pipelines; the old one is deleted; and it was created once (a lost create
// is read back, never made twice).
func checkTrigger(w *world, _ string) {
	t := w.t
	t.Helper()
	live := only(t, "trigger token deploy", w.Srv.Triggers(), func(tr sim.Trigger) bool {
		return tr.ProjectID == w.Project.ID && strings.HasPrefix(tr.Description, "deploy")
	})
	if live.ID == w.oldID || !strings.HasPrefix(live.Description, "deploy [tokenwarden rot-") || live.OwnerID != rootID || live.ExpiresAt == nil {
		t.Fatalf("trigger token left is %+v (old %d): want a new one, description deploy + marker, owned by %d, expiring", live, w.oldID, rootID)
	}
	fileSecret := w.fileValue()
	if !strings.HasPrefix(fileSecret, "glptt-") || !w.Srv.TriggerValid(w.Project.ID, fileSecret) {
		t.Error("the file sink's secret is not a live trigger token of acme/app")
	}
	if w.Srv.TriggerValid(w.Project.ID, w.oldValue) {
		t.Error("the old trigger token still works")
	}
	w.checkVariable(fileSecret)
	if got := w.creates.Load(); got != 1 {
		t.Errorf("POST …/triggers sent %d times, want 1", got)
	}
}

func TestTriggerTokenRotation(t *testing.T) {
	w := newTriggerWorld(t)
	rotateOnce(w, func() bool { return w.Srv.TriggerValid(w.Project.ID, w.oldValue) }, "trigger_token")
	want := schedule.ExpiresAtFor(start, 30*24*time.Hour)
	if exp := w.Srv.Triggers(); exp[len(exp)-1].ExpiresAt == nil || !exp[len(exp)-1].ExpiresAt.Equal(want) {
		t.Errorf("new trigger token expires %v, want the lifetime's day (30d)", exp[len(exp)-1].ExpiresAt)
	}
}

// TestTriggerTokenCrashAtEveryStep is TestCrashAtEveryStep for a trigger
// token.
func TestTriggerTokenCrashAtEveryStep(t *testing.T) {
	crashAtEveryStep(t, []string{"overlap"}, checked(func(t *testing.T, _ string) *world { return newTriggerWorld(t) }, nil))
}

// TestTriggerTokenLostCreate: the create's answer is lost. The next run
// finds the token by its marker and reads its secret back (the managing
// token owns it): nothing is created twice.
func TestTriggerTokenLostCreate(t *testing.T) {
	w := newTriggerWorld(t)
	w.loseAnswer(http.MethodPost, `/triggers$`, func() { w.check("overlap") })
	if !strings.Contains(w.history(), "read back trigger token") {
		t.Errorf("journal does not say the lost create was read back:\n%s", w.history())
	}
}

// TestTriggerTokenOfAnotherOwner: the trigger token in use belongs to
// another user, so GitLab never shows the managing token its secret. The
// plan says so and adopts it by rotation: a new token of the managing
// user's, delivered; the old one deleted after the grace period.
func TestTriggerTokenOfAnotherOwner(t *testing.T) {
	k := triggerToken
	k.old = func(w *world, exp time.Time) (int64, string) {
		bob, err := w.Srv.CreateUser("bob", false)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := w.Srv.AddMember("project", w.Project.ID, bob.ID, 40); err != nil {
			w.t.Fatal(err)
		}
		return oldTrigger(w, bob.ID, exp.AddDate(0, 2, 0)) // not due: adopted, not renewed
	}
	w := newKindWorld(t, "overlap", k)
	p, err := w.NewEngine(nil).Plan(context.Background(), w.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	it := p.Items[0]
	if it.Action != engine.ActionAdopt || !strings.Contains(it.Reason, "owned by bob") {
		t.Fatalf("plan item %s %q, want adopt saying the token is owned by bob", it.Action, it.Reason)
	}
	w.RunToEnd()
	w.check("overlap")
}

// TestTriggerTokenOfTheManagingUserIsReadBack: a trigger token already in
// use, not due, owned by the managing token's user. GitLab shows its owner
// the whole token, so tokenwarden reads it back instead of rotating it: the
// sink that lacks it gets the same token, and nothing is created or deleted.
func TestTriggerTokenOfTheManagingUserIsReadBack(t *testing.T) {
	k := triggerToken
	k.old = func(w *world, exp time.Time) (int64, string) {
		return oldTrigger(w, rootID, exp.AddDate(0, 2, 0)) // not due
	}
	w := newKindWorld(t, "overlap", k)
	plan := func() engine.Item {
		p, err := w.NewEngine(nil).Plan(context.Background(), w.Cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p.Items[0]
	}
	if it := plan(); it.Action != engine.ActionDeliver {
		t.Fatalf("plan item %s %q, want deliver: the managing user owns the token and can read it", it.Action, it.Reason)
	}
	w.RunToEnd()
	live := only(t, "trigger token deploy", w.Srv.Triggers(), func(tr sim.Trigger) bool { return tr.ProjectID == w.Project.ID })
	if live.ID != w.oldID || w.creates.Load() != 0 {
		t.Errorf("trigger token left is %d (the one in use is %d), %d created: want it kept, none created", live.ID, w.oldID, w.creates.Load())
	}
	if got := w.fileValue(); got != w.oldValue {
		t.Error("the file sink no longer holds the trigger token in use")
	}
	w.checkVariable(w.oldValue)
	if it := plan(); it.Action != engine.ActionNone {
		t.Errorf("plan after delivery: %s %q, want nothing to do", it.Action, it.Reason)
	}
}

// serviceAccountToken is a world's managed token as personal access token
// "deploy" of a service account that group acme provisioned.
func serviceAccountToken(group bool) kindSetup {
	k := kindSetup{
		mintRE: `/users/\d+/personal_access_tokens$`,
		old: func(w *world, exp time.Time) (int64, string) {
			var gid int64
			if group {
				gid = w.Group.ID
			}
			sa, err := w.Srv.CreateServiceAccount(gid, "CI")
			if err != nil {
				w.t.Fatal(err)
			}
			w.ownerID = sa.ID
			old, sec, err := w.Srv.CreatePersonalToken(sa.ID, sim.TokenSpec{
				Name: "deploy", Description: "pulls images", Scopes: []string{"read_api", "self_rotate"},
				CreatedAt: start.AddDate(0, 0, -85), ExpiresAt: &exp,
			})
			if err != nil {
				w.t.Fatal(err)
			}
			return old.ID, sec
		},
		entry: func(w *world) string {
			u, _ := w.Srv.User(w.ownerID)
			e := "    kind: service_account_token\n    service_account: " + u.Username + "\n    description: pulls images\n    scopes: [read_api, self_rotate]\n"
			if group {
				e += "    group: acme\n"
			}
			return e
		},
		live: func(w *world, t sim.Token) bool { return t.Name == "deploy" && t.UserID == w.ownerID },
	}
	if group {
		k.mintRE = `/service_accounts/\d+/personal_access_tokens$`
	}
	return k
}

var saStrategies = []string{"overlap", "rotate"}

// TestServiceAccountTokenCrashAtEveryStep is TestCrashAtEveryStep for a
// group service account's token, rotated by overlap and by GitLab's rotate
// endpoint.
func TestServiceAccountTokenCrashAtEveryStep(t *testing.T) {
	crashAtEveryStep(t, saStrategies, checked(func(t *testing.T, strategy string) *world {
		return newKindWorld(t, strategy, serviceAccountToken(true))
	}, nil))
}

// TestServiceAccountTokenLostMint: the create's or rotate's answer is
// lost, for a group's and an instance service account. The next run
// recovers the token GitLab made (by its marker, or as the revoked token's
// successor) instead of minting another.
func TestServiceAccountTokenLostMint(t *testing.T) {
	for _, group := range []bool{true, false} {
		for _, strategy := range saStrategies {
			t.Run(fmt.Sprintf("group=%v/%s", group, strategy), func(t *testing.T) {
				k := serviceAccountToken(group)
				w := newKindWorld(t, strategy, k)
				path := k.mintRE
				if strategy == "rotate" {
					path = `/personal_access_tokens/\d+/rotate$`
				}
				w.loseAnswer(http.MethodPost, path, func() { w.check(strategy) })
			})
		}
	}
}

// TestServiceAccountTokenUnknown: a service account the group does not
// have fails the rotation at once, naming it; nothing is minted.
func TestServiceAccountTokenUnknown(t *testing.T) {
	k := serviceAccountToken(true)
	entry := k.entry
	k.entry = func(w *world) string {
		u, _ := w.Srv.User(w.ownerID)
		return strings.Replace(entry(w), u.Username, "svc-gone", 1)
	}
	w := newKindWorld(t, "rotate", k)
	p, err := w.NewEngine(nil).Plan(context.Background(), w.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if it := p.Items[0]; it.Action != engine.ActionError || !strings.Contains(it.Reason, `the service accounts of group acme has no service account "svc-gone"`) {
		t.Fatalf("plan item %s %q, want an error naming the missing service account", it.Action, it.Reason)
	}
}

// history is every journaled event's detail, one a line, oldest rotation
// last.
func (w *world) history() string {
	w.t.Helper()
	ctx := context.Background()
	rs, err := w.Store.List(ctx, journalAll)
	if err != nil {
		w.t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rs {
		evs, err := w.Store.Events(ctx, r.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, e := range evs {
			fmt.Fprintf(&b, "%s %s %s\n", r.ID, e.Step, e.Detail)
		}
	}
	return b.String()
}

var journalAll = journal.Filter{}

// checkVariable asserts that CI/CD variable DEPLOY_TOKEN holds want.
func (w *world) checkVariable(want string) {
	w.t.Helper()
	v, ok := w.Srv.Variable("project", w.Project.ID, "DEPLOY_TOKEN", "*")
	if !ok || v.Value != want {
		w.t.Errorf("CI/CD variable does not hold the live secret (found=%v)", ok)
	}
}

// rotateOnce rotates w's token in full: the first run waits for the grace
// period (the old token still works: oldWorks), the rest finishes, and a
// second plan has nothing left to do, its current token of kind.
func rotateOnce(w *world, oldWorks func() bool, kind string) {
	t := w.t
	t.Helper()
	outs := w.Run(w.NewEngine(nil))
	if len(outs) != 1 || outs[0].Status != engine.StatusWaiting {
		t.Fatalf("outcomes %+v, want one waiting for the grace period", outs)
	}
	if !oldWorks() {
		t.Fatal("the old token stopped working during the grace period")
	}
	w.RunToEnd()
	w.check("overlap")
	if w.creates.Load() != 1 {
		t.Errorf("created %d tokens, want 1", w.creates.Load())
	}
	p, err := w.NewEngine(nil).Plan(context.Background(), w.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Changes() != 0 {
		t.Fatalf("second plan wants %d changes: %+v", p.Changes(), p.Items)
	}
	if p.Items[0].Current == nil || p.Items[0].Current.Kind != kind {
		t.Fatalf("plan's current token %+v, want the new %s", p.Items[0].Current, kind)
	}
}

// only is the one element of list that keep keeps; the test fails unless
// there is exactly one.
func only[T any](t *testing.T, what string, list []T, keep func(T) bool) T {
	t.Helper()
	var kept []T
	for _, x := range list {
		if keep(x) {
			kept = append(kept, x)
		}
	}
	if len(kept) != 1 {
		t.Fatalf("want exactly one %s, got %d: %+v", what, len(kept), kept)
	}
	return kept[0]
}

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
}

func newDeployWorld(t *testing.T, username string) *deployWorld {
	t.Helper()
	dw := &deployWorld{world: &world{t: t}, username: username}
	w := dw.world
	w.kind.check = func(*world, string) { dw.checkDeploy() }
	w.World = simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodPost, `/deploy_tokens$`, func(string) { w.creates.Add(1) })})
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
	rotateOnce(dw.world, func() bool { return dw.Srv.DeployTokenValid(dw.oldUsername, dw.oldValue, "read_registry") }, "deploy_token")
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

// forgetUsernames makes the journal look as one written before migration 3
// did: no rotation row knows the username of the token it minted.
func forgetUsernames(t *testing.T, dw *deployWorld) {
	t.Helper()
	dw.Store.Close()
	dw.Store = nil
	db, err := sql.Open("sqlite", filepath.Join(dw.Dir, "tw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE rotations SET new_username = '' WHERE new_username != ''`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("no rotation row had a username to forget")
	}
}

// TestDeployTokenMintedBeforeUsernamesWereJournaled: a deploy token's
// rotation was left at minted by a tokenwarden whose journal had no
// username column. The next run (after the upgrade) must still deliver the
// new token with its username — the one GitLab lists for it — not an empty
// one that no registry accepts.
func TestDeployTokenMintedBeforeUsernamesWereJournaled(t *testing.T) {
	dw := newDeployWorld(t, "")
	crashAfterMint := func(_ *journal.Rotation, step journal.Step, after bool) error {
		if step == journal.StepMinted && after {
			return engine.ErrCrash
		}
		return nil
	}
	dw.Run(dw.NewEngine(crashAfterMint))
	forgetUsernames(t, dw)
	dw.RunToEnd()
	dw.checkDeploy()
}

// TestDeployTokenDeliveredBeforeUsernamesWereJournaled: the live deploy
// token was rotated by a tokenwarden whose journal had no username column;
// a sink that lost the credential gets it again with the username GitLab
// lists.
func TestDeployTokenDeliveredBeforeUsernamesWereJournaled(t *testing.T) {
	dw := newDeployWorld(t, "")
	dw.RunToEnd()
	dw.checkDeploy()
	forgetUsernames(t, dw)
	dw.Write("docker-config.json", `{"auths": {"other.example.com": {"auth": "b3RoZXI6c2VjcmV0"}}, "psFormat": "table"}`)
	dw.Clock.Advance(time.Minute)
	dw.RunToEnd()
	dw.checkDeploy()
}

// runnerWorld is a world whose managed token is the authentication token
// of project runner "build-1", delivered into a gitlab-runner config.toml
// that also holds a second runner and an operator's comments.
type runnerWorld struct {
	*world
	resets      atomic.Int64 // POST /runners/:id/reset_authentication_token
	runnerID    int64
	otherSecret string
}

const runnerTOML = `# gitlab-runner on ci-1 (managed by ops)
concurrent = 2

[[runners]]
  name = "build-1"
  url = "%[1]s"
  id = %[2]d
  token = "%[3]s" # reset by tokenwarden
  executor = "shell"

# not managed by tokenwarden
[[runners]]
  name = "deploy"
  url = "%[1]s"
  token = "%[4]s"
  executor = "docker"
  [runners.docker]
    image = "alpine:3"
`

func newRunnerWorld(t *testing.T) *runnerWorld {
	t.Helper()
	rw := &runnerWorld{world: &world{t: t}}
	w := rw.world
	w.World = simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodPost, `^/api/v4/runners/\d+/reset_authentication_token$`, func(string) { rw.resets.Add(1) })})
	run, sec, err := w.Srv.CreateRunner(sim.RunnerSpec{Description: "build-1", Type: "project_type", ProjectID: w.Project.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := w.Srv.CreateRunner(sim.RunnerSpec{Description: "deploy", Type: "project_type", ProjectID: w.Project.ID})
	if err != nil {
		t.Fatal(err)
	}
	rw.runnerID, w.oldValue, rw.otherSecret = run.ID, sec, other
	w.Write("root.token", rootToken+"\n")
	w.Write("config.toml", fmt.Sprintf(runnerTOML, w.URL, run.ID, sec, other))
	w.Write("tw.yaml", fmt.Sprintf(`gitlab: {url: %s, token_file: root.token}
state: sqlite://tw.db
key_file: tw.key
defaults: {lifetime: 30d, grace: 1s}
tokens:
  - name: build-1
    kind: runner_token
    runner: %d
    deliver:
      - file: {path: config.toml, key: "runners[name=build-1].token"}
`, w.URL, run.ID))
	w.Load("tw.yaml")
	return rw
}

// runnerToken is the token config.toml holds for build-1.
func (rw *runnerWorld) runnerToken() string {
	rw.t.Helper()
	b := rw.ReadFile("config.toml")
	m := regexp.MustCompile(`token = "([^"]*)" # reset by tokenwarden`).FindSubmatch(b)
	if m == nil {
		rw.t.Fatalf("build-1's token line is gone from config.toml:\n%s", b)
	}
	return string(m[1])
}

// checkRunner asserts the invariant after any crash and recovery:
// config.toml holds a live token of build-1 (not the old one, which is
// dead), everything else in the file is as it was, and the runner was
// reset once (twice when a reset's answer was lost or a crash came before
// the journal had it).
func (rw *runnerWorld) checkRunner() {
	t := rw.t
	t.Helper()
	tok := rw.runnerToken()
	if tok == rw.oldValue || !strings.HasPrefix(tok, "glrt-") {
		t.Fatalf("config.toml holds %q for build-1, want a new runner token", tok)
	}
	if !rw.Srv.RunnerTokenValid(tok) {
		t.Error("the token in config.toml is not a live runner token")
	}
	if rw.Srv.RunnerTokenValid(rw.oldValue) {
		t.Error("the old runner token still works")
	}
	if !rw.Srv.RunnerTokenValid(rw.otherSecret) {
		t.Error("the other runner's token stopped working")
	}
	b := rw.ReadFile("config.toml")
	if want := fmt.Sprintf(runnerTOML, rw.URL, rw.runnerID, tok, rw.otherSecret); string(b) != want {
		t.Errorf("config.toml changed beyond build-1's token:\n%s\nwant:\n%s", b, want)
	}
	if got := rw.resets.Load(); got < 1 || got > 2 {
		t.Errorf("runner reset %d times, want 1 (2 after a lost answer)", got)
	}
}

func TestRunnerTokenReset(t *testing.T) {
	rw := newRunnerWorld(t)
	p, err := rw.NewEngine(nil).Plan(context.Background(), rw.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if it := p.Items[0]; it.Action != engine.ActionRotate || !strings.Contains(it.Reason, "has not reset runner") {
		t.Fatalf("first plan: %s (%s), want a reset because tokenwarden does not know the token", it.Action, it.Reason)
	}
	outs := rw.Run(rw.NewEngine(nil))
	if len(outs) != 1 || outs[0].Status != engine.StatusDone {
		t.Fatalf("outcomes %+v, want one done", outs)
	}
	rw.checkRunner()
	if rw.resets.Load() != 1 {
		t.Errorf("reset %d times, want 1", rw.resets.Load())
	}
	// Nothing to do now; due again after lifetime (the token never expires).
	p, err = rw.NewEngine(nil).Plan(context.Background(), rw.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if it := p.Items[0]; it.Action != engine.ActionNone || !strings.Contains(it.Reason, "never expires; reset every 30d") {
		t.Fatalf("second plan: %s (%s), want nothing to do until the interval ends", it.Action, it.Reason)
	}
	rw.Clock.Advance(21 * 24 * time.Hour) // past lifetime - rotate_before (one third)
	p, err = rw.NewEngine(nil).Plan(context.Background(), rw.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if it := p.Items[0]; it.Action != engine.ActionRotate {
		t.Fatalf("plan after 21 days: %s (%s), want a reset", it.Action, it.Reason)
	}
}

// A sink that cannot take the token is found before the reset: the runner
// keeps its working token.
func TestRunnerTokenNotResetWhenUndeliverable(t *testing.T) {
	rw := newRunnerWorld(t)
	rw.Write("tw.yaml", strings.Replace(string(rw.ReadFile("tw.yaml")), "runners[name=build-1]", "runners[name=build-2]", 1))
	rw.Load("tw.yaml")
	outs := rw.Run(rw.NewEngine(nil))
	if len(outs) != 1 || outs[0].Status != engine.StatusFailed || !strings.Contains(outs[0].Err.Error(), "was not reset") {
		t.Fatalf("outcomes %+v, want a failure before the reset", outs)
	}
	if rw.resets.Load() != 0 || !rw.Srv.RunnerTokenValid(rw.oldValue) {
		t.Fatalf("the runner was reset (%d) although its token could not be delivered", rw.resets.Load())
	}
}

// TestRunnerTokenCrashAtEveryStep is TestCrashAtEveryStep for a runner
// reset: crash at every fault point, run again as a new process, check the
// invariant.
func TestRunnerTokenCrashAtEveryStep(t *testing.T) {
	crashAtEveryStep(t, []string{"reset"}, func(t *testing.T, _ string) (*world, func()) {
		rw := newRunnerWorld(t)
		return rw.world, rw.checkRunner
	})
}

// TestRunnerTokenLostReset: GitLab resets the token but the answer is lost.
// The new token is unknown and the runner already cut off, so the next run
// resets again and delivers that one.
func TestRunnerTokenLostReset(t *testing.T) {
	rw := newRunnerWorld(t)
	rw.loseAnswer(http.MethodPost, `/reset_authentication_token$`, rw.checkRunner)
	if got := rw.resets.Load(); got != 2 {
		t.Errorf("reset %d times, want 2 (the lost one and the one delivered)", got)
	}
}
