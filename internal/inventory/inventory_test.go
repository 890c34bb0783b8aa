package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

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
