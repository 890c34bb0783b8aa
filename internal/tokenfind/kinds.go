// Package tokenfind recognises GitLab tokens in values that may hold them —
// a CI/CD variable, a file variable's content (dotenv, Docker config.json,
// .netrc, .npmrc, .pypirc) — by prefix and shape, and describes each one
// without its value: kind, prefix plus last four characters, digest. The
// table of GitLab's token prefixes lives here; doctor reads it too.
package tokenfind

import "strings"

// Kind is a kind of GitLab secret recognisable by its prefix. Source:
// GitLab's "Token prefixes" documentation.
type Kind struct {
	ID     string // stable name in JSON: "access-token", "deploy-token" …
	Prefix string
	What   string // "a deploy token"
	// Fix is what to do instead of using this kind against the REST API.
	Fix string
}

// AccessToken is the kind of personal, group and project access tokens —
// the only kind tokenwarden manages and the REST API accepts.
var AccessToken = Kind{ID: "access-token", Prefix: "glpat-", What: "a personal, group or project access token"}

// OtherKinds are GitLab secrets that are not access tokens.
var OtherKinds = []Kind{
	{"deploy-token", "gldt-", "a deploy token", "a deploy token works only for git, the container registry and the package registry (as username + password), not for the REST API; if the consumer calls the API, create a project or group access token with the scopes it needs"},
	{"runner-token", "glrt-", "a runner authentication token", "runner tokens authenticate a runner to GitLab and nothing else; create a project or group access token for the consumer"},
	{"trigger-token", "glptt-", "a pipeline trigger token", "trigger tokens only start pipelines (POST /projects/:id/trigger/pipeline); create a project or group access token for anything else"},
	{"job-token", "glcbt-", "a CI/CD job token (CI_JOB_TOKEN)", "a job token lives only as long as its job and works on a few endpoints via the JOB-TOKEN header; for a token that outlives the job, create a project or group access token and store it in a masked CI/CD variable"},
	{"oauth-secret", "gloas-", "an OAuth application secret", "an application secret is exchanged for OAuth access tokens, it is not a token itself; use an access token (or the OAuth flow) instead"},
	{"scim-token", "glsoat-", "a SCIM token", "SCIM tokens only provision users from an identity provider; create a project or group access token for API calls"},
	{"feed-token", "glft-", "a feed token", "feed tokens only read RSS/Atom feeds and calendars; create a personal, project or group access token"},
	{"incoming-mail-token", "glimt-", "an incoming mail token", "incoming mail tokens only address issues by e-mail; create a personal, project or group access token"},
	{"agent-token", "glagent-", "a GitLab agent for Kubernetes token", "agent tokens only connect agentk to GitLab; create a project or group access token for API calls"},
	{"feature-flags-token", "glffct-", "a feature flags client token", "feature flags client tokens only read feature flags (Unleash API); create a project or group access token for API calls"},
	{"runner-registration-token", "GR1348941", "a runner registration token", "registration tokens are deprecated and only register runners; create a project or group access token for API calls"},
}

// Kinds is every kind, access tokens first.
var Kinds = append([]Kind{AccessToken}, OtherKinds...)

// KindOf returns the kind whose prefix v starts with.
func KindOf(v string) (Kind, bool) {
	for _, k := range Kinds {
		if strings.HasPrefix(v, k.Prefix) {
			return k, true
		}
	}
	return Kind{}, false
}

// AccessTokenBody returns the part after glpat-, also behind an instance
// token prefix (GitLab 18: "<instance-prefix>-glpat-…").
func AccessTokenBody(v string) (string, bool) {
	p := AccessToken.Prefix
	if strings.HasPrefix(v, p) {
		return v[len(p):], true
	}
	if i := strings.Index(v, "-"+p); i > 0 && i <= 20 && !strings.ContainsAny(v[:i], " .") {
		return v[i+1+len(p):], true
	}
	return "", false
}

// TokenRune reports whether r can be part of a GitLab token: URL-safe
// base64 plus the dots of the routable format.
func TokenRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

// MinBody is the fewest characters GitLab puts after a token's prefix.
const MinBody = 20
