package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

const dateLayout = "2006-01-02"

func checkExpired(tok gitlab.Token, now time.Time, _ Thresholds) (Finding, bool) {
	if !tok.Expired(now) {
		return Finding{}, false
	}
	days, _ := DaysLeft(tok, now)
	return Finding{
		Code:     CodeExpired,
		Severity: SeverityCritical,
		Message:  fmt.Sprintf("expired on %s (%s)", tok.ExpiresAt.UTC().Format(dateLayout), ago(-days)),
		Fix:      "anything still using it is failing: mint a replacement and deliver it, then revoke this one (or revoke it if nothing needs it)",
	}, true
}

func checkExpiresSoon(tok gitlab.Token, now time.Time, th Thresholds) (Finding, bool) {
	if tok.ExpiresAt == nil || tok.Expired(now) {
		return Finding{}, false
	}
	left := tok.ExpiresAt.Sub(now)
	sev := ""
	switch {
	case th.ExpiresCritical > 0 && left <= th.ExpiresCritical:
		sev = SeverityCritical
	case th.ExpiresWarning > 0 && left <= th.ExpiresWarning:
		sev = SeverityWarning
	default:
		return Finding{}, false
	}
	days, _ := DaysLeft(tok, now)
	return Finding{
		Code:     CodeExpiresSoon,
		Severity: sev,
		Message:  fmt.Sprintf("expires on %s (%s)", tok.ExpiresAt.UTC().Format(dateLayout), in(days)),
		Fix:      "rotate it now and deliver the new secret to its consumers (`tokenwarden rotate " + tok.Ref() + "`), or manage it with tokenwarden so it rotates on time",
	}, true
}

func checkNeverUsed(tok gitlab.Token, now time.Time, th Thresholds) (Finding, bool) {
	if tok.LastUsedAt != nil || th.NeverUsedGrace <= 0 || now.Sub(tok.CreatedAt) <= th.NeverUsedGrace {
		return Finding{}, false
	}
	return Finding{
		Code:     CodeNeverUsed,
		Severity: SeverityWarning,
		Message:  fmt.Sprintf("never used since it was created on %s (%s)", tok.CreatedAt.UTC().Format(dateLayout), ago(daysBetween(tok.CreatedAt, now))),
		Fix:      "revoke it if nothing needs it; an unused live token is only a liability",
	}, true
}

func checkUnused(tok gitlab.Token, now time.Time, th Thresholds) (Finding, bool) {
	if tok.LastUsedAt == nil || th.UnusedAfter <= 0 || now.Sub(*tok.LastUsedAt) <= th.UnusedAfter {
		return Finding{}, false
	}
	return Finding{
		Code:     CodeUnused,
		Severity: SeverityWarning,
		Message:  fmt.Sprintf("last used on %s (%s; threshold %s)", tok.LastUsedAt.UTC().Format(dateLayout), ago(daysBetween(*tok.LastUsedAt, now)), duration.Format(th.UnusedAfter)),
		Fix:      "revoke it if its consumer is gone (`tokenwarden revoke --unused " + duration.Format(th.UnusedAfter) + "`)",
	}, true
}

// broadScopes are scopes that grant far more than any single job needs.
var broadScopes = []string{"api", "sudo", "admin_mode"}

func checkOverPrivileged(tok gitlab.Token, _ time.Time, _ Thresholds) (Finding, bool) {
	var what, fix []string
	for _, s := range broadScopes {
		if slices.Contains(tok.Scopes, s) {
			what = append(what, "scope "+s)
		}
	}
	if slices.Contains(tok.Scopes, "api") {
		fix = append(fix, "if it only reads, read_api is enough; for git or the registry alone, read_repository/write_repository or read_registry/write_registry; self_rotate lets it rotate itself without api")
	}
	if slices.Contains(tok.Scopes, "sudo") || slices.Contains(tok.Scopes, "admin_mode") {
		fix = append(fix, "drop sudo/admin_mode unless it administers the instance")
	}
	if tok.AccessLevel >= gitlab.AccessOwner {
		what = append(what, "owner access")
		fix = append(fix, "maintainer (or developer/reporter for CI reads) is enough unless it manages members or tokens")
	}
	if len(what) == 0 {
		return Finding{}, false
	}
	return Finding{
		Code:     CodeOverPrivileged,
		Severity: SeverityWarning,
		Message:  "has " + strings.Join(what, " and ") + ": a leak controls " + describe(tok.Resource),
		Fix:      "mint it with less: " + strings.Join(fix, "; "),
	}, true
}

func checkLongLived(tok gitlab.Token, _ time.Time, th Thresholds) (Finding, bool) {
	if th.MaxLifetime <= 0 {
		return Finding{}, false
	}
	if tok.ExpiresAt == nil {
		return Finding{
			Code:     CodeLongLived,
			Severity: SeverityWarning,
			Message:  "never expires",
			Fix:      fmt.Sprintf("replace it with a token that expires within %s and let tokenwarden rotate it", duration.Format(th.MaxLifetime)),
		}, true
	}
	life := tok.ExpiresAt.Sub(tok.CreatedAt)
	if life <= th.MaxLifetime {
		return Finding{}, false
	}
	return Finding{
		Code:     CodeLongLived,
		Severity: SeverityWarning,
		Message:  fmt.Sprintf("lives %d days (created %s, expires %s), policy maximum is %s", int(life/duration.Day), tok.CreatedAt.UTC().Format(dateLayout), tok.ExpiresAt.UTC().Format(dateLayout), duration.Format(th.MaxLifetime)),
		Fix:      fmt.Sprintf("rotate it with a shorter lifetime (at most %s); tokenwarden can rotate it automatically", duration.Format(th.MaxLifetime)),
	}, true
}

func checkUndescriptiveName(tok gitlab.Token, _ time.Time, _ Thresholds) (Finding, bool) {
	if !Undescriptive(tok.Name) {
		return Finding{}, false
	}
	return Finding{
		Code:     CodeUndescriptiveName,
		Severity: SeverityWarning,
		Message:  fmt.Sprintf("the name %q does not say what uses it", tok.Name),
		Fix:      "name tokens after their consumer and purpose, e.g. \"deploy-registry-read\" (rotate it under a new name)",
	}, true
}

// rotationMarker is what tokenwarden's engine appends to the description of
// a token it mints (internal/engine/marker.go): it says nothing about what
// uses the token.
var rotationMarker = regexp.MustCompile(`\[tokenwarden rot-[0-9a-f]+\]`)

func checkNoDescription(tok gitlab.Token, _ time.Time, _ Thresholds) (Finding, bool) {
	desc := strings.TrimSpace(tok.Description)
	rest := desc
	if strings.Contains(desc, "[tokenwarden rot-") {
		rest = strings.TrimSpace(rotationMarker.ReplaceAllString(desc, ""))
	}
	if rest != "" {
		return Finding{}, false
	}
	msg := "has no description"
	if desc != "" {
		msg += " (only tokenwarden's rotation marker)"
	}
	return Finding{
		Code:     CodeNoDescription,
		Severity: SeverityInfo,
		Message:  msg,
		Fix:      "describe who uses it and where it is stored; the next rotation can carry the description",
	}, true
}

func describe(r gitlab.Resource) string {
	switch r.Type {
	case "group":
		return "group " + r.Path + " and all below it"
	case "project":
		return "project " + r.Path
	case "user":
		return "everything " + r.Path + " can reach"
	}
	return r.Path
}

func daysBetween(from, to time.Time) int {
	return int(to.UTC().Truncate(duration.Day).Sub(from.UTC().Truncate(duration.Day)) / duration.Day)
}

func ago(days int) string {
	switch days {
	case 0:
		return "today"
	case 1:
		return "yesterday"
	}
	return fmt.Sprintf("%d days ago", days)
}

func in(days int) string {
	switch days {
	case 0:
		return "today"
	case 1:
		return "in 1 day"
	}
	return fmt.Sprintf("in %d days", days)
}
