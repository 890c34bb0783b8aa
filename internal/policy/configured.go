package policy

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// Configured is a managed token as a configuration file asks for it: what
// tokenwarden will mint, before GitLab has said anything about it.
type Configured struct {
	Name        string
	Description string
	Scopes      []string
	AccessLevel int // gitlab.AccessGuest … gitlab.AccessOwner
	Lifetime    time.Duration
	Resource    gitlab.Resource // Type and Path
	Kind        string          // "" (an access token of Resource) or gitlab.KindDeployToken
}

// ConfiguredChecks are the checks whose outcome a token's configuration
// alone decides; the others depend on its use and its age.
var ConfiguredChecks = []string{CodeOverPrivileged, CodeLongLived, CodeUndescriptiveName, CodeNoDescription}

// configuredFixes say what to change in the configuration, where a check's
// own fix speaks of a token that exists.
var configuredFixes = map[string]func(c Configured, th Thresholds) string{
	CodeLongLived: func(_ Configured, th Thresholds) string {
		return fmt.Sprintf("set lifetime: %s or less (tokenwarden rotates it, so a short life costs nothing)", duration.Format(th.MaxLifetime))
	},
	CodeUndescriptiveName: func(Configured, Thresholds) string {
		return "name it after its consumer and purpose, e.g. name: deploy-registry-read"
	},
	CodeNoDescription: func(Configured, Thresholds) string {
		return "add description: who uses it and where it is delivered"
	},
}

// EvaluateConfigured returns the findings scan would report on every token
// minted as c, by c alone (ConfiguredChecks), most severe first. It runs
// the same checks as Evaluate, on the token c describes.
func EvaluateConfigured(c Configured, th Thresholds) []Finding {
	created := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // any day: only the lifetime counts
	expires := created.Add(c.Lifetime)
	tok := gitlab.Token{
		Name: c.Name, Description: c.Description, Scopes: c.Scopes, AccessLevel: c.AccessLevel,
		CreatedAt: created, ExpiresAt: &expires, Active: true, Resource: c.Resource, Kind: c.Kind,
	}
	var out []Finding
	for _, chk := range Checks {
		if !slices.Contains(ConfiguredChecks, chk.Code) {
			continue
		}
		f, ok := chk.Run(tok, created, th)
		if !ok {
			continue
		}
		if chk.Code == CodeLongLived {
			f.Message = fmt.Sprintf("lifetime %s is over the policy maximum %s", duration.Format(c.Lifetime), duration.Format(th.MaxLifetime))
		}
		if fix := configuredFixes[chk.Code]; fix != nil {
			f.Fix = fix(c, th)
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return Rank(out[i].Severity) > Rank(out[j].Severity) })
	return out
}
