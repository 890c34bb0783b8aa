package inventory_test

import (
	"fmt"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

var rootToken = simtest.RootToken

// instance is the shape of a test instance: tops top-level groups with subs
// subgroups each, every group with projects projects, one token per group
// and tokens tokens per project.
type instance struct {
	tops, subs, projects, tokens int
}

// twoLevels is the instance the basic scan and streaming tests look at: two
// top-level groups with two subgroups each, three projects in every group,
// two tokens in every project.
var twoLevels = instance{tops: 2, subs: 2, projects: 3, tokens: 2}

func (in instance) groups() int       { return in.tops * (1 + in.subs) }
func (in instance) projectCount() int { return in.groups() * in.projects }
func (in instance) tokenCount() int   { return in.groups() + in.projectCount()*in.tokens }
func ceilDiv(a, b int) int            { return (a + b - 1) / b }

// lowerBound is the fewest list calls that can inventory the instance: one
// per 100 groups, per 100 projects, and per 100 tokens of each group and
// project (at least one each).
func (in instance) lowerBound() int {
	return ceilDiv(in.groups(), 100) + ceilDiv(in.projectCount(), 100) + in.groups() + in.projectCount()
}

func (in instance) build(tb testing.TB, srv *sim.Server) {
	tb.Helper()
	exp := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	spec := func(name string) sim.TokenSpec {
		return sim.TokenSpec{Name: name, Description: "d", Scopes: []string{"read_api"}, AccessLevel: 20, ExpiresAt: &exp}
	}
	fill := func(g sim.Group) {
		if _, _, err := srv.CreateAccessToken("group", g.ID, spec(g.Path+"-ci")); err != nil {
			tb.Fatal(err)
		}
		for p := range in.projects {
			pr, err := srv.CreateProject(fmt.Sprintf("p%d", p), g.ID)
			if err != nil {
				tb.Fatal(err)
			}
			for t := range in.tokens {
				if _, _, err := srv.CreateAccessToken("project", pr.ID, spec(fmt.Sprintf("deploy-%d", t))); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	for i := range in.tops {
		top, err := srv.CreateGroup(fmt.Sprintf("top%d", i), 0)
		if err != nil {
			tb.Fatal(err)
		}
		fill(top)
		for j := range in.subs {
			sub, err := srv.CreateGroup(fmt.Sprintf("sub%d", j), top.ID)
			if err != nil {
				tb.Fatal(err)
			}
			fill(sub)
		}
	}
}

// startSim starts the emulator with the root token, on the real clock
// unless opts names another, and builds in on it.
func startSim(tb testing.TB, in instance, opts sim.Options) (*sim.Server, string) {
	tb.Helper()
	opts.RootToken = rootToken
	srv, url := simtest.Start(tb, opts)
	in.build(tb, srv)
	return srv, url
}

func client(tb testing.TB, url string) *gitlab.Client {
	tb.Helper()
	c, err := gitlab.New(gitlab.Config{URL: url, Token: secret.New(rootToken), RetryMax: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
