package gitlab

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Resource is what a token belongs to: a group, a project or (for personal
// tokens) a user.
type Resource struct {
	Type string // "group" | "project" | "user"
	ID   int64
	Path string // full path; the username for a user
}

// Token is one access token as tokenwarden reasons about it. It never holds
// the secret.
type Token struct {
	ID          int64
	Name        string
	Description string
	Scopes      []string
	AccessLevel int // 0 for personal tokens
	CreatedAt   time.Time
	ExpiresAt   *time.Time // 00:00 UTC of the expiry date; nil: never expires
	LastUsedAt  *time.Time // nil: never used
	Active      bool
	Revoked     bool
	UserID      int64
	Resource    Resource

	// Kind is the credential's kind (KindGroupAccessToken…); "" reads as
	// the access-token kind of Resource.Type (see TokenKind).
	Kind string
	// Username is a deploy token's username (its secret's other half).
	Username string
	// Owner is a trigger token's owner's username: GitLab shows the
	// secret to that user only.
	Owner string
	// ExpiryUnknown: GitLab does not show this credential's expiry (a
	// runner's token): ExpiresAt nil says nothing.
	ExpiryUnknown bool
	// UsageUnknown: GitLab does not report this credential's use (deploy
	// tokens): LastUsedAt nil says nothing.
	UsageUnknown bool
}

// Credential kinds, as scan's rows and --kind name them.
const (
	KindGroupAccessToken    = "group_access_token"
	KindProjectAccessToken  = "project_access_token"
	KindPersonalAccessToken = "personal_access_token"
	KindServiceAccountToken = "service_account_token"
	KindDeployToken         = "deploy_token"
	KindTriggerToken        = "trigger_token"
	KindRunnerToken         = "runner_token"
)

// Kinds lists every kind, in scan's order.
var Kinds = []string{KindGroupAccessToken, KindProjectAccessToken, KindPersonalAccessToken, KindServiceAccountToken,
	KindDeployToken, KindTriggerToken, KindRunnerToken}

// TokenKind is t's kind: Kind, or the access-token kind of its resource.
func (t Token) TokenKind() string {
	if t.Kind != "" {
		return t.Kind
	}
	switch t.Resource.Type {
	case "group":
		return KindGroupAccessToken
	case "project":
		return KindProjectAccessToken
	}
	return KindPersonalAccessToken
}

// AccessTokenKind reports whether kind is a group, project or personal
// (including service account) access token: the kinds rotate and the
// access-token endpoints handle.
func AccessTokenKind(kind string) bool {
	switch kind {
	case KindGroupAccessToken, KindProjectAccessToken, KindPersonalAccessToken, KindServiceAccountToken:
		return true
	}
	return false
}

// Token states as reported by State.
const (
	StateActive  = "active"
	StateExpired = "expired"
	StateRevoked = "revoked"
)

// State is "revoked", "expired" or "active" at now. A token stops working at
// 00:00 UTC of its expires_at date, so a token expiring today is expired.
func (t Token) State(now time.Time) string {
	switch {
	case t.Revoked:
		return StateRevoked
	case t.Expired(now):
		return StateExpired
	}
	return StateActive
}

// Expired reports whether the token's expiry has passed at now.
func (t Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// Ref names the token for people: "group/path:token-name".
func (t Token) Ref() string {
	return t.Resource.Path + ":" + t.Name
}

// Access levels as GitLab numbers them.
const (
	AccessNone       = 0
	AccessMinimal    = 5
	AccessGuest      = 10
	AccessPlanner    = 15
	AccessReporter   = 20
	AccessDeveloper  = 30
	AccessMaintainer = 40
	AccessOwner      = 50
)

// AccessLevelName is the role name of a GitLab access level ("maintainer").
// Unknown levels print as their number.
func AccessLevelName(level int) string {
	switch level {
	case AccessNone:
		return ""
	case AccessMinimal:
		return "minimal"
	case AccessGuest:
		return "guest"
	case AccessPlanner:
		return "planner"
	case AccessReporter:
		return "reporter"
	case AccessDeveloper:
		return "developer"
	case AccessMaintainer:
		return "maintainer"
	case AccessOwner:
		return "owner"
	}
	return strconv.Itoa(level)
}

// markerRE matches the rotation marker tokenwarden's engine puts in the
// description (or, for deploy and trigger tokens, the name) of a token it
// mints, "[tokenwarden rot-…]", with the space before it.
var markerRE = regexp.MustCompile(`\s*\[tokenwarden rot-[0-9a-f]+\]`)

// Unmarked is s, a token's name or description, without tokenwarden's
// rotation markers: the name a config gives the token, the description a
// person wrote.
func Unmarked(s string) string {
	return strings.TrimSpace(markerRE.ReplaceAllString(s, ""))
}
