package managing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/all"
)

var rootToken = simtest.RootToken

var start = simtest.Now

// world: group acme, owned by user tokenwarden-svc whose personal access
// token "tokenwarden" (api, expiring in 10 days: inside the 30-day renewal
// window of a 90-day lifetime) is the managing token, read from tw.token, renewed by
// tokenwarden (gitlab.self_rotate) and also delivered to other.env.
type world struct {
	*simtest.World
	t   *testing.T
	old sim.Token
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t}
	w.World = simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken})
	w.ClientsOnFakeClock = true
	g := w.Group
	exp := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	// A service account (a user) that owns acme: group and project access
	// tokens cannot create access tokens.
	u, err := w.Srv.CreateUser("tokenwarden-svc", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Srv.AddMember("group", g.ID, u.ID, 50); err != nil {
		t.Fatal(err)
	}
	tok, sec, err := w.Srv.CreatePersonalToken(u.ID, sim.TokenSpec{Name: "tokenwarden", Scopes: []string{"api"}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	w.old = tok
	w.Write("tw.token", sec+"\n")
	w.Write("tw.yaml", fmt.Sprintf(`gitlab:
  url: %s
  token_file: tw.token
  self_rotate: true
  deliver:
    - file: {path: other.env, format: dotenv, key: GITLAB_TOKEN}
state: sqlite://tw.db
key_file: tw.key
tokens:
  - {name: deploy, description: deploys, group: acme, scopes: [read_api]}
`, w.URL))
	w.Load("tw.yaml")
	return w
}

// process starts "a new process": the journal opened afresh, a client with
// whatever token_file holds now, and a renewer with the given fault hook.
func (w *world) process(fault func(*journal.Rotation, journal.Step, bool) error) *managing.Renewer {
	w.t.Helper()
	st := w.Reopen()
	tok, err := w.Cfg.GitLab.LoadToken()
	if err != nil {
		w.t.Fatal(err)
	}
	c := w.Client(tok)
	return &managing.Renewer{
		Client: c, Store: st, Clock: w.Clock, Config: w.Cfg, Fault: fault,
		Sinks: func(ds []config.Sink) ([]sink.Sink, error) {
			return all.NewAll(ds, all.Deps{GitLab: c, Owner: managing.Ref})
		},
	}
}

// run is what apply does: recover, check, renew when due.
func (w *world) run(rn *managing.Renewer) error {
	ctx := context.Background()
	if err := rn.Recover(ctx); err != nil {
		return err
	}
	st, err := managing.Check(ctx, rn.Client, w.Cfg, w.Clock.Now())
	if err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return err
	}
	if at, ok := managing.RenewAt(w.Cfg, st); ok && !w.Clock.Now().Before(at) {
		_, err = rn.Renew(ctx, st, "test")
	}
	return err
}

func (w *world) file(name string) string {
	return strings.TrimSpace(strings.TrimPrefix(string(w.ReadFile(name)), "GITLAB_TOKEN="))
}

// check: token_file and other.env hold the one live "tokenwarden" token,
// the old one is revoked, the process's client works with it, and the
// journal's renewal is done.
func (w *world) check(rn *managing.Renewer) {
	w.t.Helper()
	var live []sim.Token
	for _, t := range w.Srv.Tokens() {
		if t.Name == "tokenwarden" && t.Active && !t.Revoked {
			live = append(live, t)
		}
	}
	if len(live) != 1 || live[0].ID == w.old.ID {
		w.t.Fatalf("live managing tokens %+v, want exactly one successor of %d", live, w.old.ID)
	}
	if old, _ := w.Srv.Token(w.old.ID); !old.Revoked {
		w.t.Errorf("old managing token %d not revoked", w.old.ID)
	}
	self, err := rn.Client.SelfToken(context.Background())
	if err != nil || self.ID != live[0].ID {
		t := self.ID
		w.t.Fatalf("the process's client is token %d (%v), want the live token %d", t, err, live[0].ID)
	}
	if got, err := w.Client(secret.New(w.file("tw.token"))).SelfToken(context.Background()); err != nil || got.ID != live[0].ID {
		w.t.Errorf("tw.token holds token %d (%v), want %d", got.ID, err, live[0].ID)
	}
	if w.file("other.env") != w.file("tw.token") {
		w.t.Errorf("other.env does not hold the token in tw.token")
	}
	if fi, err := os.Stat(filepath.Join(w.Dir, "tw.token")); err != nil || fi.Mode().Perm() != 0o600 {
		w.t.Errorf("tw.token mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	rots, err := w.Store.List(context.Background(), journal.Filter{Ref: managing.Ref})
	if err != nil || len(rots) == 0 || rots[0].Step != journal.StepDone || rots[0].NewTokenID != live[0].ID {
		w.t.Fatalf("newest managing renewal %+v (%v), want done into %d", rots, err, live[0].ID)
	}
}

func TestRenewManagingToken(t *testing.T) {
	w := newWorld(t)
	rn := w.process(nil)
	if err := w.run(rn); err != nil {
		t.Fatal(err)
	}
	w.check(rn)
	// Every later call of the process uses it: a second run has nothing to do.
	if err := w.run(rn); err != nil {
		t.Fatal(err)
	}
	if rots, _ := w.Store.List(context.Background(), journal.Filter{Ref: managing.Ref}); len(rots) != 1 {
		t.Errorf("%d renewals after two runs, want 1", len(rots))
	}
	// The secret is sealed in the journal: not in plain text on disk.
	if strings.Contains(string(w.ReadFile("tw.db")), w.file("tw.token")) {
		t.Error("the renewed secret is in the journal in plain text")
	}
}

// A crash at every fault point of a renewal (before and after each step is
// journaled), then a new process: it finishes the renewal from the journal,
// or — when token_file holds the dead old token — takes the newest secret
// from the journal, rewrites the file and goes on. The one point that
// cannot be recovered is a crash between GitLab's answer and the journal
// (the secret existed only in memory): that is reported with the manual fix.
func TestRenewCrashAtEveryStep(t *testing.T) {
	points := 0
	{
		w := newWorld(t)
		if err := w.run(w.process(func(*journal.Rotation, journal.Step, bool) error { points++; return nil })); err != nil {
			t.Fatal(err)
		}
	}
	if points < 9 {
		t.Fatalf("only %d fault points", points)
	}
	for k := 1; k <= points; k++ {
		t.Run(fmt.Sprintf("point-%02d", k), func(t *testing.T) {
			w := newWorld(t)
			crash := &simtest.CrashPoint{K: k}
			if err := w.run(w.process(crash.Hook)); !errors.Is(err, engine.ErrCrash) {
				t.Fatalf("run with a crash at point %d: %v", k, err)
			}
			at := crash.At
			t.Logf("crashed at %s", at)
			// The engine resumes managed tokens' rotations; the managing
			// token's renewal is not one of them, and must not be failed.
			outs, err := engine.New(engine.Deps{Store: w.Store, Clock: w.Clock}).Resume(context.Background(), w.Cfg)
			if err != nil || len(outs) != 0 {
				t.Fatalf("engine.Resume touched the managing token's renewal: %+v, %v", outs, err)
			}
			rn := w.process(nil)
			err = w.run(rn)
			if at == "minted after=false" {
				// GitLab rotated; the answer never reached the journal.
				if !errors.Is(err, managing.ErrLost) || !strings.Contains(err.Error(), "Fix: in GitLab, rotate the active token named \"tokenwarden\" that replaced token") {
					t.Fatalf("restart after losing the answer: %v, want ErrLost with the manual fix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			w.check(rn)
		})
	}
}

// Commit, then drop the response: GitLab rotates, the answer is lost, the
// old token is dead. tokenwarden reports the exact manual fix, never
// presents the old secret to a rotate endpoint (GitLab's reuse detection
// would revoke the successor), and once a person puts a working secret in
// token_file, it carries on.
func TestRenewLostResponse(t *testing.T) {
	w := newWorld(t)
	w.Srv.Faults().DropAfterCommit(http.MethodPost, `/personal_access_tokens/self/rotate$`, 1)
	err := w.run(w.process(nil))
	if !errors.Is(err, managing.ErrLost) {
		t.Fatalf("run: %v, want ErrLost", err)
	}
	for _, want := range []string{"(id " + fmt.Sprint(w.old.ID), "tw.token", "Do not present the old secret", "tokenwarden apply -c"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	var succ sim.Token
	for _, tk := range w.Srv.Tokens() {
		if tk.Name == "tokenwarden" && tk.Active && !tk.Revoked {
			succ = tk
		}
	}
	if succ.ID == 0 || succ.ID == w.old.ID {
		t.Fatalf("no live successor: GitLab's reuse detection revoked it, or the rotation did not happen")
	}
	// A restart says the same, and still leaves the successor alive.
	if err := w.run(w.process(nil)); !errors.Is(err, managing.ErrLost) {
		t.Fatalf("restart: %v, want ErrLost again", err)
	}
	if tk, _ := w.Srv.Token(succ.ID); tk.Revoked {
		t.Fatal("the successor was revoked: the old secret reached a rotate endpoint")
	}
	// The manual fix: an administrator rotates the successor and writes its secret.
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v4/personal_access_tokens/%d/rotate?expires_at=%s",
		w.URL, succ.ID, start.AddDate(0, 3, 0).Format(time.DateOnly)), nil)
	req.Header.Set("PRIVATE-TOKEN", rootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pat struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&pat); err != nil || resp.StatusCode != http.StatusOK || pat.Token == "" {
		t.Fatalf("rotate by id: %s, %v", resp.Status, err)
	}
	w.Write("tw.token", pat.Token+"\n")
	rn := w.process(nil)
	if err := w.run(rn); err != nil {
		t.Fatalf("after the manual fix: %v", err)
	}
	if self, err := rn.Client.SelfToken(context.Background()); err != nil || self.Revoked {
		t.Fatalf("after the manual fix the client does not work: %+v %v", self, err)
	}
}

// token_file holds a dead token (someone restored an old copy) while the
// journal has the newest one: the next start uses the journal's, says so,
// and rewrites the file.
func TestRecoverFromDeadTokenFile(t *testing.T) {
	w := newWorld(t)
	oldSecret := w.file("tw.token")
	if err := w.run(w.process(nil)); err != nil {
		t.Fatal(err)
	}
	newSecret := w.file("tw.token")
	w.Write("tw.token", oldSecret+"\n")
	var logs strings.Builder
	rn := w.process(nil)
	rn.Log = newTextLogger(&logs)
	if err := w.run(rn); err != nil {
		t.Fatal(err)
	}
	if w.file("tw.token") != newSecret {
		t.Error("tw.token was not rewritten with the journal's secret")
	}
	if !strings.Contains(logs.String(), "gitlab.token_file held a dead token") {
		t.Errorf("no log line says so: %s", logs.String())
	}
	if strings.Contains(logs.String(), newSecret) || strings.Contains(logs.String(), oldSecret) {
		t.Error("a secret is in the log")
	}
	w.check(rn)
}

func newTextLogger(w *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
