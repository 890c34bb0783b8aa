package doctor

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// tokenKind is a kind of GitLab secret recognisable by its prefix.
type tokenKind struct {
	prefix string
	what   string // "a deploy token"
	fix    string // what to do instead of using it against the REST API
}

// accessTokenPrefix is the prefix of personal, group and project access
// tokens — the only kind doctor can check against the REST API.
const accessTokenPrefix = "glpat-"

// otherKinds are GitLab secrets that are not access tokens. Source: GitLab's
// "Token prefixes" documentation.
var otherKinds = []tokenKind{
	{"gldt-", "a deploy token", "a deploy token works only for git, the container registry and the package registry (as username + password), not for the REST API; if the consumer calls the API, create a project or group access token with the scopes it needs"},
	{"glrt-", "a runner authentication token", "runner tokens authenticate a runner to GitLab and nothing else; create a project or group access token for the consumer"},
	{"glptt-", "a pipeline trigger token", "trigger tokens only start pipelines (POST /projects/:id/trigger/pipeline); create a project or group access token for anything else"},
	{"glcbt-", "a CI/CD job token (CI_JOB_TOKEN)", "a job token lives only as long as its job and works on a few endpoints via the JOB-TOKEN header; for a token that outlives the job, create a project or group access token and store it in a masked CI/CD variable"},
	{"gloas-", "an OAuth application secret", "an application secret is exchanged for OAuth access tokens, it is not a token itself; use an access token (or the OAuth flow) instead"},
	{"glsoat-", "a SCIM token", "SCIM tokens only provision users from an identity provider; create a project or group access token for API calls"},
	{"glft-", "a feed token", "feed tokens only read RSS/Atom feeds and calendars; create a personal, project or group access token"},
	{"glimt-", "an incoming mail token", "incoming mail tokens only address issues by e-mail; create a personal, project or group access token"},
	{"glagent-", "a GitLab agent for Kubernetes token", "agent tokens only connect agentk to GitLab; create a project or group access token for API calls"},
	{"glffct-", "a feature flags client token", "feature flags client tokens only read feature flags (Unleash API); create a project or group access token for API calls"},
	{"GR1348941", "a runner registration token", "registration tokens are deprecated and only register runners; create a project or group access token for API calls"},
}

// checkShape tells an access token from other GitLab secrets and from
// things that are not GitLab tokens at all.
func checkShape(_ context.Context, s *session) Result {
	v := s.in.Token.Reveal()
	if body, ok := accessTokenBody(v); ok {
		if bad := strings.IndexFunc(body, func(r rune) bool { return !tokenRune(r) }); bad >= 0 {
			return fail(fmt.Sprintf("starts like an access token (glpat-) but has a character no GitLab token has, at position %d", len(v)-len(body)+runeIndex(body, bad)+1),
				"copy the token again from where it was created; the value was changed on the way (smart quotes, an ellipsis, an encoding problem)")
		}
		if len(body) < 20 {
			return fail(fmt.Sprintf("an access token (glpat-) but only %d characters follow the prefix; GitLab's have at least 20", len(body)),
				"the token was cut off when it was copied: copy it again in full (GitLab shows it only once — if it is gone, rotate the token)")
		}
		return pass("looks like a personal, group or project access token (glpat-)")
	}
	for _, k := range otherKinds {
		if strings.HasPrefix(v, k.prefix) {
			return fail(fmt.Sprintf("this is %s (%s…), not an access token", k.what, k.prefix), k.fix)
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

// accessTokenBody returns the part after glpat-, also behind an instance
// token prefix (GitLab 18: "<instance-prefix>-glpat-…").
func accessTokenBody(v string) (string, bool) {
	if strings.HasPrefix(v, accessTokenPrefix) {
		return v[len(accessTokenPrefix):], true
	}
	if i := strings.Index(v, "-"+accessTokenPrefix); i > 0 && i <= 20 && !strings.ContainsAny(v[:i], " .") {
		return v[i+1+len(accessTokenPrefix):], true
	}
	return "", false
}

// tokenRune: GitLab tokens are URL-safe base64 plus the dots of the routable format.
func tokenRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

func runeIndex(s string, byteIdx int) int { return len([]rune(s[:byteIdx])) }
