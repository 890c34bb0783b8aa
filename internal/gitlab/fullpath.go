package gitlab

import (
	"regexp"
	"strings"
)

var fullPathRE = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.\-]*(/[A-Za-z0-9_.][A-Za-z0-9_.\-]*)*$`)

// IsFullPath reports whether p is a group's or project's full path as in
// GitLab's URLs ("platform/infra/app"), without leading or trailing slashes.
func IsFullPath(p string) bool {
	return !strings.Contains(p, "://") && fullPathRE.MatchString(p)
}
