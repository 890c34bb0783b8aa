package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
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
	lostMint(w, "overlap", `/triggers$`)
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
				lostMint(w, strategy, path)
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

// lostMint drops the answer of w's first create or rotate (path), checks
// that the run stops at planned, then finishes and checks the invariant.
func lostMint(w *world, strategy, path string) {
	w.t.Helper()
	w.Srv.Faults().DropAfterCommit(http.MethodPost, path, 1)
	outs := w.Run(w.NewEngine(nil))
	if len(outs) != 1 || outs[0].Status != engine.StatusRetry || outs[0].Rotation.Step != journal.StepPlanned {
		w.t.Fatalf("first run: want one rotation to retry at planned, got %+v", outs)
	}
	w.RunToEnd()
	w.check(strategy)
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
