package doctor

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/tokenfind"
)

// checkShape tells an access token from other GitLab secrets and from
// things that are not GitLab tokens at all.
func checkShape(_ context.Context, s *session) Result {
	v := s.in.Token.Reveal()
	if body, ok := tokenfind.AccessTokenBody(v); ok {
		if bad := strings.IndexFunc(body, func(r rune) bool { return !tokenfind.TokenRune(r) }); bad >= 0 {
			return fail(fmt.Sprintf("starts like an access token (glpat-) but has a character no GitLab token has, at position %d", len(v)-len(body)+runeIndex(body, bad)+1),
				"copy the token again from where it was created; the value was changed on the way (smart quotes, an ellipsis, an encoding problem)")
		}
		if len(body) < tokenfind.MinBody {
			return fail(fmt.Sprintf("an access token (glpat-) but only %d characters follow the prefix; GitLab's have at least 20", len(body)),
				"the token was cut off when it was copied: copy it again in full (GitLab shows it only once — if it is gone, rotate the token)")
		}
		return pass("looks like a personal, group or project access token (glpat-)")
	}
	if s.isDeploy() {
		if r, ok := s.deployShape(); ok {
			return r
		}
	}
	for _, k := range tokenfind.OtherKinds {
		if strings.HasPrefix(v, k.Prefix) {
			fix := k.Fix
			if s.isDeploy() && s.in.Project == "" {
				fix += "; to check the deploy token where it works, run doctor again with --project PATH (and --username NAME)"
			}
			return fail(fmt.Sprintf("this is %s (%s…), not an access token", k.What, k.Prefix), fix)
		}
	}
	// An unknown gl…- prefix is named only when it looks like one (lowercase
	// letters): otherwise the "prefix" could be part of the secret itself.
	if m := unknownPrefix.FindString(v); m != "" {
		prefix := m
		return fail(fmt.Sprintf("starts with %s, a GitLab token of a kind that is not an access token", prefix),
			"use a personal, project or group access token (glpat-…) for API, git and registry access")
	}
	return fail("does not look like a GitLab token: access tokens start with glpat-",
		"check that the variable holds the GitLab token and not another secret (a password, a GitHub token …); if your instance predates token prefixes (GitLab < 14.5) or uses a custom prefix, compare with a newly created token")
}

var unknownPrefix = regexp.MustCompile(`^gl[a-z]{1,8}-`)

func runeIndex(s string, byteIdx int) int { return len([]rune(s[:byteIdx])) }
