package config

import "strconv"

// Scopes a group or project access token may have (GitLab 18).
var tokenScopes = []string{
	"api", "read_api", "create_runner", "manage_runner", "k8s_proxy", "self_rotate",
	"read_repository", "write_repository", "read_registry", "write_registry",
	"read_virtual_registry", "write_virtual_registry",
	"read_observability", "write_observability", "ai_features",
}

// personalOnlyScopes exist only on personal access tokens; named in hints.
var personalOnlyScopes = map[string]bool{"read_user": true, "sudo": true, "admin_mode": true}

// ValidScope reports whether s is a scope a group/project token can have.
func ValidScope(s string) bool {
	for _, v := range tokenScopes {
		if v == s {
			return true
		}
	}
	return false
}

// Scopes returns the scopes a group/project token can have.
func Scopes() []string { return append([]string(nil), tokenScopes...) }

var accessLevels = []struct {
	name  string
	level int
}{{"guest", 10}, {"planner", 15}, {"reporter", 20}, {"developer", 30}, {"maintainer", 40}, {"owner", 50}}

// AccessLevel returns the number for a role name, or a valid number itself.
func AccessLevel(s string) (int, bool) {
	for _, a := range accessLevels {
		if a.name == s {
			return a.level, true
		}
	}
	for _, a := range accessLevels {
		if s == strconv.Itoa(a.level) {
			return a.level, true
		}
	}
	return 0, false
}

// AccessLevelName returns the role name for a level ("maintainer" for 40).
func AccessLevelName(level int) string {
	for _, a := range accessLevels {
		if a.level == level {
			return a.name
		}
	}
	return strconv.Itoa(level)
}
