package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

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
	resetRE := regexp.MustCompile(`^/api/v4/runners/\d+/reset_authentication_token$`)
	w.World = simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(rw2 http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && resetRE.MatchString(r.URL.Path) {
					rw.resets.Add(1)
				}
				h.ServeHTTP(rw2, r)
			})
		}})
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
