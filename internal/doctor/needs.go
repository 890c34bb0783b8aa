package doctor

import (
	"fmt"
	"slices"
	"strings"
)

// Need is one thing the consumer must be able to do, as a scope.
type Need struct {
	Asked string `json:"asked"` // what was asked for: a scope or an alias like "push"
	Scope string `json:"scope"` // the scope it stands for
}

func (n Need) String() string {
	if n.Asked == n.Scope {
		return n.Scope
	}
	return fmt.Sprintf("%s (%s)", n.Asked, n.Scope)
}

// knownScopes are the scopes of personal, group and project access tokens.
var knownScopes = []string{
	"api", "read_api", "read_user", "create_runner", "manage_runner", "k8s_proxy", "self_rotate",
	"read_repository", "write_repository", "read_registry", "write_registry",
	"read_virtual_registry", "write_virtual_registry", "read_observability", "write_observability",
	"ai_features", "sudo", "admin_mode",
}

// aliases name operations by what people do rather than by scope.
var aliases = map[string][]string{
	"clone":      {"read_repository"},
	"fetch":      {"read_repository"},
	"pull":       {"read_repository"},
	"push":       {"write_repository"},
	"pull-image": {"read_registry"},
	// Pushing an image needs read_registry too (GitLab's scope documentation).
	"push-image": {"write_registry", "read_registry"},
	"api-read":   {"read_api"},
	"api-write":  {"api"},
	"rotate":     {"self_rotate"},
}

// ParseNeeds reads --need: a comma-separated list of scopes and aliases.
func ParseNeeds(list string) ([]Need, error) {
	var needs []Need
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key := strings.ToLower(item)
		var scopes []string
		switch {
		case slices.Contains(knownScopes, key):
			scopes = []string{key}
		case aliases[key] != nil:
			scopes = aliases[key]
		default:
			names := make([]string, 0, len(aliases))
			for a := range aliases {
				names = append(names, a)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("--need: unknown scope or operation %q (scopes: %s; operations: %s)", item, strings.Join(knownScopes, ", "), strings.Join(names, ", "))
		}
		for _, sc := range scopes {
			if !slices.ContainsFunc(needs, func(n Need) bool { return n.Scope == sc }) {
				needs = append(needs, Need{Asked: key, Scope: sc})
			}
		}
	}
	return needs, nil
}

// covers says which scopes a token scope grants, itself included. A token
// with read_api may also clone and pull images; api grants everything but
// sudo, admin_mode and observability.
func covers(scope string) []string {
	switch scope {
	case "api":
		return []string{"api", "read_api", "read_user", "read_repository", "write_repository", "read_registry", "write_registry",
			"create_runner", "manage_runner", "k8s_proxy", "self_rotate", "read_virtual_registry", "write_virtual_registry", "ai_features"}
	case "read_api":
		return []string{"read_api", "read_user", "read_repository", "read_registry"}
	case "write_repository":
		return []string{"write_repository", "read_repository"}
	case "write_virtual_registry":
		return []string{"write_virtual_registry", "read_virtual_registry"}
	case "write_observability":
		return []string{"write_observability", "read_observability"}
	}
	return []string{scope}
}

// coveredBy reports whether any of scopes grants need.
func coveredBy(need string, scopes []string) bool {
	for _, s := range scopes {
		if slices.Contains(covers(s), need) {
			return true
		}
	}
	return false
}

// smallestScopes is the least-privileged scope set for needs: the needed
// scopes, without those another needed scope already grants.
func smallestScopes(needs []Need) []string {
	var want []string
	for _, n := range needs {
		if !slices.Contains(want, n.Scope) {
			want = append(want, n.Scope)
		}
	}
	var out []string
	for _, s := range want {
		others := slices.DeleteFunc(slices.Clone(want), func(o string) bool { return o == s })
		if !coveredBy(s, others) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
