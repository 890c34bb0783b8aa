package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// Finding codes of tokens kept in CI/CD variables (scan --variables).
const (
	CodeDeadTokenInVariable        = "dead-token-in-variable"
	CodeExpiringTokenInVariable    = "expiring-token-in-variable"
	CodeTokenInUnprotectedVariable = "token-in-unprotected-variable"
	CodeTokenInManyPlaces          = "token-in-many-places"
	CodeForeignToken               = "foreign-token"
)

// StateUnknown is a token GitLab does not know (never existed, or deleted
// with its bot user): as dead as a revoked one.
const StateUnknown = "unknown"

// DefaultManyPlaces: token-in-many-places when the same secret sits in more
// than this many variables.
const DefaultManyPlaces = 3

// VariableFacts is what the policy knows about one variable holding a token.
// It never holds the value.
type VariableFacts struct {
	Resource  gitlab.Resource // whose variable it is
	Masked    bool
	Protected bool
	// State is the token's: gitlab.StateActive, StateExpired, StateRevoked
	// or StateUnknown; "" when it was not identified.
	State string
	// Token is the identified token, when GitLab (or the inventory) said
	// which one it is.
	Token *gitlab.Token
	// Places is how many variables hold the same secret.
	Places int
	// What names the token when Token is nil ("a deploy token"); "" for
	// "a token".
	What string
}

// EvaluateVariable returns the findings of a variable holding a token,
// most severe first.
func EvaluateVariable(v VariableFacts, now time.Time, th Thresholds, manyPlaces int) []Finding {
	var out []Finding
	name := "a token"
	if v.What != "" {
		name = v.What
	}
	if v.Token != nil && v.Token.Name != "" {
		name = fmt.Sprintf("%s:%s (id %d)", v.Token.Resource.Path, v.Token.Name, v.Token.ID)
	}
	switch v.State {
	case gitlab.StateExpired, gitlab.StateRevoked, StateUnknown:
		var msg string
		switch {
		case v.State == StateUnknown:
			msg = fmt.Sprintf("holds %s GitLab does not know", name)
		case v.Token != nil && v.State == gitlab.StateExpired && v.Token.ExpiresAt != nil:
			msg = fmt.Sprintf("holds %s, expired on %s", name, v.Token.ExpiresAt.UTC().Format(dateLayout))
		case v.Token != nil:
			msg = fmt.Sprintf("holds %s, %s", name, v.State)
		default:
			msg = fmt.Sprintf("holds %s that is %s", name, v.State)
		}
		out = append(out, Finding{Code: CodeDeadTokenInVariable, Severity: SeverityCritical,
			Message: msg + ": jobs using it fail",
			Fix:     "put a live token's secret in the variable (manage the token with tokenwarden and add this variable as a gitlab_variable sink), or delete the variable if nothing uses it"})
	case gitlab.StateActive:
		if v.Token != nil && v.Token.ExpiresAt != nil {
			if sev := th.expirySeverity(v.Token.ExpiresAt.Sub(now)); sev != "" {
				days, _ := DaysLeft(*v.Token, now)
				out = append(out, Finding{Code: CodeExpiringTokenInVariable, Severity: sev,
					Message: fmt.Sprintf("holds %s, which expires on %s (%s)", name, v.Token.ExpiresAt.UTC().Format(dateLayout), in(days)),
					Fix:     "rotate the token and put the new secret in this variable — tokenwarden does both when it manages the token with this variable as a gitlab_variable sink"})
			}
		}
	}
	if !v.Masked && !v.Protected {
		out = append(out, Finding{Code: CodeTokenInUnprotectedVariable, Severity: SeverityWarning,
			Message: "not masked, protected or hidden: the token shows in job logs, every branch gets it",
			Fix:     "in Settings > CI/CD > Variables mark it protected and masked (or recreate it as masked and hidden)"})
	}
	if v.Token != nil && foreign(*v.Token, v.Resource) {
		out = append(out, Finding{Code: CodeForeignToken, Severity: SeverityWarning,
			Message: fmt.Sprintf("holds %s of another %s: access to %s", name, v.Token.Resource.Type, v.Token.Resource.Path),
			Fix:     fmt.Sprintf("use a token of %s %s itself (or a CI/CD job token allowlist) instead of borrowing another resource's", v.Resource.Type, v.Resource.Path)})
	}
	if manyPlaces > 0 && v.Places > manyPlaces {
		out = append(out, Finding{Code: CodeTokenInManyPlaces, Severity: SeverityInfo,
			Message: fmt.Sprintf("the same secret is in %d variables: a rotation must reach every one", v.Places),
			Fix:     "give each consumer its own token, or keep one variable at a common parent group: a rotation must otherwise reach every copy"})
	}
	sort.SliceStable(out, func(i, j int) bool { return Rank(out[i].Severity) > Rank(out[j].Severity) })
	return out
}

// foreign reports whether a group or project token reaches beyond the
// resource whose variable holds it: a group token is at home in its group
// and everything below it, a project token only in its project. Personal
// tokens are not judged: their reach is their user's.
func foreign(tok gitlab.Token, res gitlab.Resource) bool {
	switch tok.Resource.Type {
	case "group":
		return !(res.Path == tok.Resource.Path || strings.HasPrefix(res.Path, tok.Resource.Path+"/"))
	case "project":
		return !(res.Type == "project" && res.Path == tok.Resource.Path)
	}
	return false
}
