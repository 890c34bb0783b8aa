package inventory

import (
	"context"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// discover finds every group and project to scan, each once.
//
// With named roots: each root is looked up (an unknown one fails the scan,
// naming it), then one paginated descendant_groups and one paginated
// projects?include_subgroups=true stream per root.
// Without, for an administrator: one paginated GET /groups and, at the same
// time, one keyset-paginated GET /projects of the whole instance, of which
// the projects in those groups are kept (not those in users' namespaces):
// one call per 100 groups and per 100 projects, however many top-level
// groups there are.
// Without, for anyone else: one paginated GET /groups (only groups they own —
// the only ones whose tokens they may list), and a projects stream per
// top-level group of that list.
func (w *walk) discover(ctx context.Context, roots []string) ([]gitlab.Group, []gitlab.Project, error) {
	if len(roots) == 0 && w.rep.User.Admin {
		return w.discoverInstance(ctx)
	}
	var groups []gitlab.Group
	var err error
	walkDescendants := true
	if len(roots) == 0 {
		minAccess := gitlab.AccessOwner
		if w.rep.User.Admin {
			minAccess = 0
		}
		groups, err = w.c.Groups(ctx, minAccess)
		if err != nil {
			return nil, nil, err
		}
		walkDescendants = false // GET /groups already lists subgroups
	} else {
		groups, err = w.lookup(ctx, roots)
		if err != nil {
			return nil, nil, err
		}
	}
	groups = dedupeGroups(groups)
	tops := topmost(groups)

	var mu sync.Mutex
	var projects []gitlab.Project
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(w.n)
	for _, g := range tops {
		if walkDescendants {
			eg.Go(func() error {
				ds, err := w.c.DescendantGroups(ectx, g)
				return gather(w, &mu, &groups, ds, err, g)
			})
		}
		eg.Go(func() error {
			ps, err := w.c.GroupProjects(ectx, g, true)
			return gather(w, &mu, &projects, ps, err, g)
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	return dedupeGroups(groups), dedupeProjects(projects), nil
}

// gather appends what one walker's call found to *dst under mu, or turns
// its error into the scan's.
func gather[T any](w *walk, mu *sync.Mutex, dst *[]T, found []T, err error, g gitlab.Group) error {
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		return w.discoveryError(err, g)
	}
	*dst = append(*dst, found...)
	return nil
}

// discoverInstance is discover for an administrator without named roots.
func (w *walk) discoverInstance(ctx context.Context) ([]gitlab.Group, []gitlab.Project, error) {
	var groups []gitlab.Group
	var all []gitlab.Project
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() (err error) { groups, err = w.c.Groups(ectx, 0); return err })
	eg.Go(func() (err error) { all, err = w.c.AllProjects(ectx, w.n); return err })
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	inGroup := make(map[int64]bool, len(groups))
	for _, g := range groups {
		inGroup[g.ID] = true
	}
	projects := all[:0]
	for _, p := range all {
		if inGroup[p.NamespaceID] {
			projects = append(projects, p)
		}
	}
	return dedupeGroups(groups), dedupeProjects(projects), nil
}

// lookup resolves the named root groups; an unknown one fails the scan.
func (w *walk) lookup(ctx context.Context, paths []string) ([]gitlab.Group, error) {
	out := make([]gitlab.Group, len(paths))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(w.n)
	for i, p := range paths {
		eg.Go(func() error {
			g, err := w.c.Group(ectx, p)
			out[i] = g
			return err
		})
	}
	return out, eg.Wait()
}

// discoveryError records a subtree that could not be walked; errors that
// would hit every call end the scan.
func (w *walk) discoveryError(err error, g gitlab.Group) error {
	if fatal(err) {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rep.Errors = append(w.rep.Errors, ResourceError{Resource: gitlab.Resource{Type: "group", ID: g.ID, Path: g.Path}, Err: err})
	return nil
}

// topmost keeps the groups none of whose ancestors is in the list: walking
// those with include_subgroups covers the rest.
func topmost(groups []gitlab.Group) []gitlab.Group {
	byID := make(map[int64]gitlab.Group, len(groups))
	for _, g := range groups {
		byID[g.ID] = g
	}
	var out []gitlab.Group
	for _, g := range groups {
		if !hasAncestorIn(g, byID) && !pathCovered(g, groups) {
			out = append(out, g)
		}
	}
	return out
}

func hasAncestorIn(g gitlab.Group, byID map[int64]gitlab.Group) bool {
	seen := map[int64]bool{}
	for p := g.ParentID; p != 0 && !seen[p]; {
		seen[p] = true
		parent, ok := byID[p]
		if ok {
			return true
		}
		p = parent.ParentID
	}
	return false
}

// pathCovered catches ancestors whose parent_id the API did not return.
func pathCovered(g gitlab.Group, groups []gitlab.Group) bool {
	for _, o := range groups {
		if o.ID != g.ID && len(g.Path) > len(o.Path) && g.Path[:len(o.Path)] == o.Path && g.Path[len(o.Path)] == '/' {
			return true
		}
	}
	return false
}

func dedupeGroups(gs []gitlab.Group) []gitlab.Group {
	return dedupe(gs, func(g gitlab.Group) (int64, string) { return g.ID, g.Path })
}

func dedupeProjects(ps []gitlab.Project) []gitlab.Project {
	return dedupe(ps, func(p gitlab.Project) (int64, string) { return p.ID, p.Path })
}

// dedupe keeps the first of each ID, sorted by path.
func dedupe[T any](xs []T, key func(T) (id int64, path string)) []T {
	seen := map[int64]bool{}
	out := xs[:0:0]
	for _, x := range xs {
		if id, _ := key(x); !seen[id] {
			seen[id] = true
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		_, pi := key(out[i])
		_, pj := key(out[j])
		return pi < pj
	})
	return out
}
