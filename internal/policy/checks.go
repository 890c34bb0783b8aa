package policy

import (
	"fmt"
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
	sev := th.expirySeverity(tok.ExpiresAt.Sub(now))
	if sev == "" {
		return Finding{}, false
	}
	days, _ := DaysLeft(tok, now)
	return Finding{
		Code:     CodeExpiresSoon,
		Severity: sev,
		Message:  fmt.Sprintf("expires on %s (%s)", tok.ExpiresAt.UTC().Format(dateLayout), in(days)),
		Fix:      expiresSoonFix(tok),
	}, true
}

// expirySeverity is how bad it is that a token expires in left: critical
// within ExpiresCritical, a warning within ExpiresWarning, else "".
func (th Thresholds) expirySeverity(left time.Duration) string {
	switch {
	case th.ExpiresCritical > 0 && left <= th.ExpiresCritical:
		return SeverityCritical
	case th.ExpiresWarning > 0 && left <= th.ExpiresWarning:
		return SeverityWarning
	}
	return ""
}

func expiresSoonFix(tok gitlab.Token) string {
	switch tok.TokenKind() {
	case gitlab.KindDeployToken, gitlab.KindTriggerToken:
		return "GitLab cannot rotate it: create a replacement, deliver it, then delete this one — or manage it with tokenwarden (kind: " + tok.TokenKind() + ") so it is replaced on time"
	case gitlab.KindRunnerToken:
		return "reset the runner's token and update its config.toml"
	}
	return "rotate it now and deliver the new secret to its consumers (`tokenwarden rotate " + tok.Ref() + "`), or manage it with tokenwarden so it rotates on time"
}

func checkNeverUsed(tok gitlab.Token, now time.Time, th Thresholds) (Finding, bool) {
	if tok.UsageUnknown || tok.CreatedAt.IsZero() || tok.LastUsedAt != nil || th.NeverUsedGrace <= 0 || now.Sub(tok.CreatedAt) <= th.NeverUsedGrace {
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
	if tok.UsageUnknown || tok.LastUsedAt == nil || th.UnusedAfter <= 0 || now.Sub(*tok.LastUsedAt) <= th.UnusedAfter {
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

// deployWriteScopes let a leaked deploy token push: most deploy tokens only
// pull (Kubernetes, Argo CD, package installs).
var deployWriteScopes = []string{"write_registry", "write_package_registry", "write_virtual_registry"}

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
	if tok.TokenKind() == gitlab.KindDeployToken {
		var w []string
		for _, s := range deployWriteScopes {
			if slices.Contains(tok.Scopes, s) {
				w = append(w, s)
			}
		}
		if len(w) > 0 {
			what = append(what, "scope "+strings.Join(w, ", "))
			fix = append(fix, "a deploy token that only pulls needs read_registry/read_package_registry; keep write_* for the one job that publishes")
		}
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

// noExpiryKinds can still be made without an expiry through GitLab's API.
var noExpiryKinds = []string{gitlab.KindDeployToken, gitlab.KindTriggerToken}

func checkNoExpiry(tok gitlab.Token, _ time.Time, _ Thresholds) (Finding, bool) {
	if tok.ExpiresAt != nil || tok.ExpiryUnknown || !slices.Contains(noExpiryKinds, tok.TokenKind()) {
		return Finding{}, false
	}
	what := "deploy token"
	if tok.TokenKind() == gitlab.KindTriggerToken {
		what = "pipeline trigger token"
	}
	return Finding{
		Code:     CodeNoExpiry,
		Severity: SeverityWarning,
		Message:  "never expires: GitLab makes a " + what + " without expiry when expires_at is left out",
		Fix:      "replace it with one that has expires_at and let tokenwarden rotate it (kind: " + tok.TokenKind() + " in the config)",
	}, true
}

func checkLongLived(tok gitlab.Token, _ time.Time, th Thresholds) (Finding, bool) {
	if th.MaxLifetime <= 0 || tok.ExpiryUnknown || tok.CreatedAt.IsZero() { // deploy tokens show no created_at
		return Finding{}, false
	}
	if tok.ExpiresAt == nil && slices.Contains(noExpiryKinds, tok.TokenKind()) {
		return Finding{}, false // no-expiry says it
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

func checkNoDescription(tok gitlab.Token, _ time.Time, _ Thresholds) (Finding, bool) {
	if !gitlab.AccessTokenKind(tok.TokenKind()) {
		return Finding{}, false // deploy tokens have none; a trigger's or runner's description is its name
	}
	desc := strings.TrimSpace(tok.Description)
	// The rotation marker tokenwarden's engine appends says nothing about
	// what uses the token.
	if gitlab.Unmarked(desc) != "" {
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
	case "instance":
		return "the instance"
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
