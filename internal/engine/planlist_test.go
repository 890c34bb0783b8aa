package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// Plan lists each resource's access tokens once (and resolves it once),
// whatever the number of managed tokens on it: 3 projects × 5 managed
// tokens make 3 token lists, not 15.
func TestPlanListsEachResourceOnce(t *testing.T) {
	var mu sync.Mutex
	lists := map[string]int{}
	w := simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodGet, `^/api/v4/(groups|projects)/[^/]+/access_tokens$`, func(path string) {
			mu.Lock()
			lists[path]++
			mu.Unlock()
		})})
	exp := start.AddDate(0, 0, 60)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "gitlab: {url: %s, token_file: root.token}\nstate: sqlite://tw.db\nkey_file: tw.key\ndefaults: {lifetime: 90d}\ntokens:\n", w.URL)
	for p := range 3 {
		proj, err := w.Srv.CreateProject(fmt.Sprintf("svc-%d", p), w.Group.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			name := fmt.Sprintf("deploy-%d", i)
			if _, _, err := w.Srv.CreateAccessToken("project", proj.ID, sim.TokenSpec{Name: name, Scopes: []string{"read_api"},
				AccessLevel: 20, CreatedAt: start.AddDate(0, 0, -10), ExpiresAt: &exp}); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&cfg, "  - {name: %s, description: d, project: acme/svc-%d, scopes: [read_api], access_level: reporter,\n     deliver: [{file: {path: %s-%d.env, format: dotenv, key: T}}]}\n", name, p, name, p)
		}
	}
	w.Write("root.token", rootToken+"\n")
	w.Write("tw.yaml", cfg.String())
	w.Load("tw.yaml")
	c, e := w.Cfg, w.NewEngine(nil)

	p, err := e.Plan(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Items {
		if it.Err != nil || it.Current == nil || it.Current.Name != it.Token.Name || it.Current.Resource.Path != it.Token.Project {
			t.Errorf("%s: current %+v, err %v", it.Ref, it.Current, it.Err)
		}
		if it.Action == engine.ActionCreate {
			t.Errorf("%s: plan creates a token that exists", it.Ref)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lists) != 3 {
		t.Errorf("token lists of %d resources, want 3: %v", len(lists), lists)
	}
	for path, n := range lists {
		if n != 1 {
			t.Errorf("%s listed %d times, want once", path, n)
		}
	}
}

// Replan decides again only the tokens that are due or whose journal moved
// since the plan it follows; the others keep their items, and nothing of
// GitLab or their sinks is read for them. A sink edited by hand shows at the
// next full Plan (serve makes one each scan interval).
func TestReplanDecidesOnlyWhatIsDueOrWritten(t *testing.T) {
	var lists atomic.Int64
	w := simtest.NewWorld(t, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 7,
		Wrap: simtest.Counting(http.MethodGet, `^/api/v4/(groups|projects)/[^/]+/access_tokens$`, func(string) { lists.Add(1) })})
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "gitlab: {url: %s, token_file: root.token}\nstate: sqlite://tw.db\nkey_file: tw.key\ndefaults: {lifetime: 30d, rotate_before: 10d, strategy: rotate}\ntokens:\n", w.URL)
	for i, name := range []string{"a", "b", "c"} {
		if i == 2 {
			// c lives longer: due 10 days after a and b.
			fmt.Fprintf(&cfg, "  - {name: %s, project: acme/app, scopes: [read_api], access_level: reporter, lifetime: 40d,\n     deliver: [{file: {path: %s.env, format: dotenv, key: T}}]}\n", name, name)
			continue
		}
		fmt.Fprintf(&cfg, "  - {name: %s, project: acme/app, scopes: [read_api], access_level: reporter,\n     deliver: [{file: {path: %s.env, format: dotenv, key: T}}]}\n", name, name)
	}
	w.Write("root.token", rootToken+"\n")
	w.Write("tw.yaml", cfg.String())
	w.Load("tw.yaml")
	c, e := w.Cfg, w.NewEngine(nil)
	ctx := context.Background()

	p, err := e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, c, p); err != nil {
		t.Fatal(err)
	}
	actions := func(p *engine.Plan) string {
		var out []string
		for _, it := range p.Items {
			cur := int64(0)
			if it.Current != nil {
				cur = it.Current.ID
			}
			out = append(out, fmt.Sprintf("%s:%s@%d", it.Token.Name, it.Action, cur))
			if it.RenewAt != nil {
				out[len(out)-1] += "/" + it.RenewAt.Format(time.DateTime)
			}
		}
		return strings.Join(out, " ")
	}
	full, err := e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range full.Items {
		if it.Action != engine.ActionNone {
			t.Fatalf("after apply: %s", actions(full))
		}
	}

	// Nothing due, nothing written: nothing is read again.
	lists.Store(0)
	again, err := e.Replan(ctx, c, full)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(again), actions(full); got != want || lists.Load() != 0 {
		t.Errorf("replan with nothing due: %s after %s, %d token lists (want the same, no list)", got, want, lists.Load())
	}

	// b is rotated by hand and a's sink is edited: only b is decided again.
	w.Write("a.env", "T=edited-by-hand\n")
	if _, err := e.RotateNow(ctx, c, full.Items[1].Ref, engine.RotateOptions{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	lists.Store(0)
	again, err = e.Replan(ctx, c, again)
	if err != nil {
		t.Fatal(err)
	}
	if again.Items[0].Action != engine.ActionNone || again.Items[1].Current.ID == full.Items[1].Current.ID || lists.Load() != 1 {
		t.Errorf("after rotating b: %s after %s, %d token lists (want b's new token, a kept, one list)", actions(again), actions(full), lists.Load())
	}

	// The full plan sees a's sink.
	full, err = e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if full.Items[0].Action != engine.ActionDeliver {
		t.Errorf("full plan after a's sink was edited: %s, want a to deliver", actions(full))
	}

	// 21 days on, a and b are due, c is not.
	if _, err := e.Apply(ctx, c, full); err != nil {
		t.Fatal(err)
	}
	full, err = e.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(21 * 24 * time.Hour)
	again, err = e.Replan(ctx, c, full)
	if err != nil {
		t.Fatal(err)
	}
	if again.Items[0].Action != engine.ActionRotate || again.Items[2].Action != engine.ActionNone {
		t.Errorf("21 days on: %s, want a and b due, c not", actions(again))
	}
}
