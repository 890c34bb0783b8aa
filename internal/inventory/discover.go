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
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					return w.discoveryError(err, g)
				}
				groups = append(groups, ds...)
				return nil
			})
		}
		eg.Go(func() error {
			ps, err := w.c.GroupProjects(ectx, g, true)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				return w.discoveryError(err, g)
			}
			projects = append(projects, ps...)
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	return dedupeGroups(groups), dedupeProjects(projects), nil
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
	seen := map[int64]bool{}
	out := gs[:0:0]
	for _, g := range gs {
		if !seen[g.ID] {
			seen[g.ID] = true
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func dedupeProjects(ps []gitlab.Project) []gitlab.Project {
	seen := map[int64]bool{}
	out := ps[:0:0]
	for _, p := range ps {
		if !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
