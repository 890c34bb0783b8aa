package inventory_test

import (
	"context"
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
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == first:
			<-release
		case lists.MatchString(r.URL.Path):
			mu.Lock()
			if held {
				others++
				maxAhead = max(maxAhead, others)
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
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := others
		mu.Unlock()
		if n >= window-1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
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
