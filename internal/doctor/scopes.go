package doctor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// checkScopes compares the token's scopes with --need, both ways: a missing
// scope blocks, a scope beyond the smallest set that would do is a warning.
func checkScopes(_ context.Context, s *session) Result {
	has := slices.Sorted(maps.Keys(s.scopes))
	if len(s.in.Needs) == 0 {
		return pass(fmt.Sprintf("scopes %s (no --need given, nothing to compare)", strings.Join(has, ", ")))
	}
	smallest := smallestScopes(s.in.Needs)
	var missing []string
	for _, n := range s.in.Needs {
		if !coveredBy(n.Scope, has) {
			missing = append(missing, n.String())
		}
	}
	if len(missing) > 0 {
		return fail(fmt.Sprintf("the token has scopes %s, which do not cover %s", strings.Join(has, ", "), joinAnd(missing)),
			fmt.Sprintf("GitLab cannot add scopes to an existing token: create a new one with scopes %s (the smallest set that covers --need) and put it into %s", strings.Join(smallest, ", "), s.in.Origin.Label()))
	}
	var extra []string
	for _, sc := range has {
		if !slices.Contains(smallest, sc) {
			extra = append(extra, sc)
		}
	}
	needs := make([]string, len(s.in.Needs))
	for i, n := range s.in.Needs {
		needs[i] = n.String()
	}
	if len(extra) > 0 {
		return warn(fmt.Sprintf("over-privileged: the token has %s, but %s needs only %s", joinAnd(extra), strings.Join(needs, ", "), strings.Join(smallest, ", ")),
			fmt.Sprintf("when the token is next replaced, create it with scopes %s only (least privilege: if it leaks, it can do no more than that)", strings.Join(smallest, ", ")))
	}
	return pass(fmt.Sprintf("scopes %s cover %s", strings.Join(has, ", "), strings.Join(needs, ", ")))
}
