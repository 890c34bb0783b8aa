package sim

import (
	"slices"
	"strconv"
)

// groupListFilter reads the owned and min_access_level parameters of the
// group list endpoints the way GitLab's GroupsFinder applies them. Either one
// replaces "every group the caller can see" (for administrators too):
//
//   - owned=true: the groups the caller is a direct Owner member of (not
//     their subgroups; owned wins over min_access_level);
//   - min_access_level=N: the groups where the caller's direct membership is
//     at least N, and all their descendants (membership is inherited).
//
// Project memberships count for neither. keep is nil when no filter applies;
// ok is false when a parameter was invalid (the 400 is already written).
func (c *call) groupListFilter() (keep func(*group) bool, ok bool) {
	owned, _, valid := c.p.boolean("owned")
	if !valid {
		paramError(c.w, "owned is invalid")
		return nil, false
	}
	minLevel := 0
	if v, present := c.p.get("min_access_level"); present {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			paramError(c.w, "min_access_level is invalid")
			return nil, false
		case !slices.Contains(accessLevels, n):
			paramError(c.w, "min_access_level does not have a valid value")
			return nil, false
		}
		minLevel = n
	}
	st, u := c.s.st, c.user
	switch {
	case u == nil && owned:
		return func(*group) bool { return false }, true
	case u == nil:
		return nil, true // GitLab ignores min_access_level without a user
	case owned:
		return func(g *group) bool { return st.directLevel(memberKey{"group", g.ID, u.ID}) == 50 }, true
	case minLevel > 0:
		return func(g *group) bool {
			for _, a := range st.ancestors(g) {
				if st.directLevel(memberKey{"group", a.ID, u.ID}) >= minLevel {
					return true
				}
			}
			return false
		}, true
	}
	return nil, true
}

// listedGroups is every group of candidates that keep accepts, or that the
// caller can see when keep is nil.
func (s *Server) listedGroups(c *call, keep func(*group) bool, candidates []*group) []*group {
	if keep == nil {
		keep = func(g *group) bool { return s.canSeeGroup(c.user, g) }
	}
	var out []*group
	for _, g := range candidates {
		if keep(g) {
			out = append(out, g)
		}
	}
	return out
}
