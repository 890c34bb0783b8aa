package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
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
	c, sealer := w.LoadConfig("tw.yaml")
	store := w.OpenJournal(c.State, sealer)
	e := w.Engine(w.Client(secret.New(rootToken)), store, nil)

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
