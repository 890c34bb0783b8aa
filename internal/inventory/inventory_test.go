package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

func TestScanFindsEveryTokenOnce(t *testing.T) {
	in := twoLevels
	_, url := startSim(t, in, sim.Options{})
	tests := []struct {
		name     string
		groups   []string
		groupsN  int
		projects int
		tokens   int
	}{
		{"all groups", nil, 6, 18, in.tokenCount()},
		{"one root", []string{"top0"}, 3, 9, in.tokenCount() / 2},
		{"overlapping roots", []string{"top0/sub1", "top0", "top0"}, 3, 9, in.tokenCount() / 2},
		{"a subgroup", []string{"top1/sub0"}, 1, 3, 1 + 3*2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var last, total int
			rep, err := inventory.Scan(context.Background(), client(t, url), inventory.Options{
				Groups: tt.groups, Concurrency: 4,
				Progress: func(done, tot int) { mu.Lock(); last, total = done, tot; mu.Unlock() },
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Groups != tt.groupsN || rep.Projects != tt.projects || len(rep.Tokens) != tt.tokens || len(rep.Errors) != 0 {
				t.Errorf("scanned %d groups, %d projects, %d tokens, errors %v; want %d, %d, %d",
					rep.Groups, rep.Projects, len(rep.Tokens), rep.Errors, tt.groupsN, tt.projects, tt.tokens)
			}
			seen := map[int64]bool{}
			for _, tok := range rep.Tokens {
				if seen[tok.ID] {
					t.Errorf("token %d listed twice", tok.ID)
				}
				seen[tok.ID] = true
			}
			if last != total || total != tt.groupsN+tt.projects {
				t.Errorf("progress ended at %d/%d", last, total)
			}
		})
	}
}

func TestScanStaysNearTheLowerBound(t *testing.T) {
	in := instance{tops: 20, subs: 0, projects: 20, tokens: 1} // 20 top-level groups, 400 projects
	_, url := startSim(t, in, sim.Options{})
	c := client(t, url)
	const concurrency = 4
	rep, err := inventory.Scan(context.Background(), c, inventory.Options{Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tokens) != in.tokenCount() || rep.Projects != in.projectCount() {
		t.Fatalf("%d tokens in %d projects, want %d in %d", len(rep.Tokens), rep.Projects, in.tokenCount(), in.projectCount())
	}
	// GET /user, then the lower bound — one GET /groups page, one GET
	// /projects page per 100 projects, one token list per group and
	// project — plus the highest project id and, for each id range listed
	// in parallel, at most one partly filled page. Not one projects stream
	// per top-level group.
	got := int(c.Stats().Calls)
	if low, high := 1+in.lowerBound(), 1+in.lowerBound()+1+concurrency; got < low || got > high {
		t.Errorf("%d API calls, want %d to %d (lower bound %d)", got, low, high, in.lowerBound())
	}
}

func TestScanReportsWhatItCouldNotRead(t *testing.T) {
	in := instance{tops: 1, subs: 1, projects: 2, tokens: 1}
	srv, url := startSim(t, in, sim.Options{})
	p, _ := srv.ProjectByPath("top0/sub0/p1")
	srv.Faults().ResetConnection("GET", fmt.Sprintf("/projects/%d/access_tokens", p.ID), 100)
	rep, err := inventory.Scan(context.Background(), client(t, url), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].Resource.Path != "top0/sub0/p1" || !errors.Is(rep.Errors[0].Err, gitlab.ErrUnreachable) {
		t.Fatalf("errors = %v", rep.Errors)
	}
	if len(rep.Tokens) != in.tokenCount()-1 || rep.AllFailed() {
		t.Errorf("got %d tokens (want %d), AllFailed %v", len(rep.Tokens), in.tokenCount()-1, rep.AllFailed())
	}
}

func TestScanFailsWholeWhenNothingCanBeRead(t *testing.T) {
	in := instance{tops: 1, subs: 0, projects: 1, tokens: 1}
	_, url := startSim(t, in, sim.Options{})
	_, err := inventory.Scan(context.Background(), client(t, url), inventory.Options{Groups: []string{"top0", "nope"}})
	if !errors.Is(err, gitlab.ErrNotFound) || err.Error() != `group "nope" not found (or the token's user cannot see it)` {
		t.Errorf("err = %v", err)
	}
}

func TestScanStreamsTokensInPathOrder(t *testing.T) {
	in := twoLevels
	_, url := startSim(t, in, sim.Options{})
	var paths []string
	seen := map[int64]bool{}
	rep, err := inventory.Scan(context.Background(), client(t, url), inventory.Options{
		Concurrency: 4,
		Tokens: func(res gitlab.Resource, toks []gitlab.Token) {
			paths = append(paths, res.Path)
			for i, tok := range toks {
				if tok.Resource != res {
					t.Errorf("token %d of %v came with resource %v", tok.ID, tok.Resource, res)
				}
				if i > 0 && toks[i-1].ID >= tok.ID {
					t.Errorf("%s: token ids out of order: %d then %d", res.Path, toks[i-1].ID, tok.ID)
				}
				if seen[tok.ID] {
					t.Errorf("token %d streamed twice", tok.ID)
				}
				seen[tok.ID] = true
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tokens) != 0 {
		t.Errorf("Report.Tokens holds %d tokens while streaming", len(rep.Tokens))
	}
	if len(seen) != in.tokenCount() || len(paths) != in.groups()+in.projectCount() {
		t.Errorf("streamed %d tokens of %d resources, want %d of %d", len(seen), len(paths), in.tokenCount(), in.groups()+in.projectCount())
	}
	for i := 1; i < len(paths); i++ {
		if paths[i-1] >= paths[i] {
			t.Errorf("resource %q streamed after %q", paths[i], paths[i-1])
		}
	}
}

// While the first resource's tokens are slow to come, the scan lists only a
// bounded window of the resources after it (64 at concurrency 4): what it
// holds back to keep the output in order does not grow with the instance.
func TestScanStreamHoldsABoundedWindow(t *testing.T) {
	const window = 64
	in := instance{tops: 1, subs: 0, projects: 2 * window, tokens: 1}
	srv, simURL := startSim(t, in, sim.Options{})
	top, _ := srv.GroupByPath("top0")
	first := fmt.Sprintf("/api/v4/groups/%d/access_tokens", top.ID)
	lists := regexp.MustCompile(`^/api/v4/(groups|projects)/\d+/access_tokens$`)

	target, _ := url.Parse(simURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	release := make(chan struct{})
	var mu sync.Mutex
	others, maxAhead := 0, 0
	held := true
	filled := make(chan struct{}) // closed when window-1 resources were listed behind the held one
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == first:
			<-release
		case lists.MatchString(r.URL.Path):
			mu.Lock()
			if held {
				others++
				maxAhead = max(maxAhead, others)
				if others == window-1 {
					close(filled)
				}
			}
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)

	errc := make(chan error, 1)
	streamed := 0
	go func() {
		_, err := inventory.Scan(context.Background(), client(t, ts.URL), inventory.Options{
			Concurrency: 4,
			Tokens:      func(_ gitlab.Resource, toks []gitlab.Token) { streamed += len(toks) },
		})
		errc <- err
	}()
	// The window fills: window-1 resources after the held one are listed.
	select {
	case <-filled:
	case <-time.After(time.Minute): // the check below says how far it got
	}
	mu.Lock()
	held = false
	ahead := maxAhead
	mu.Unlock()
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ahead != window-1 {
		t.Errorf("%d resources listed while the first was held, want %d", ahead, window-1)
	}
	if streamed != in.tokenCount() {
		t.Errorf("streamed %d tokens, want %d", streamed, in.tokenCount())
	}
}
