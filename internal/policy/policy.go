// Package policy owns tokenwarden's findings: what is wrong with a token. Each
// check is a small named function of (token, now, thresholds) that either
// returns a Finding — a stable code, a severity, a message and a one-line
// fix — or nothing. Evaluate runs the chain; it has no I/O and no clock of
// its own, so a scan's findings are a pure function of the inventory and now.
package policy

import (
	"sort"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// Severities, from least to most urgent.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Finding codes. They are stable: CI gates and `revoke --finding` use them.
const (
	CodeExpired           = "expired"
	CodeExpiresSoon       = "expires-soon"
	CodeNeverUsed         = "never-used"
	CodeUnused            = "unused"
	CodeOverPrivileged    = "over-privileged"
	CodeLongLived         = "long-lived"
	CodeUndescriptiveName = "undescriptive-name"
	CodeNoDescription     = "no-description"
	// CodeNoExpiry: a deploy or trigger token without expiry (GitLab still
	// makes them so when expires_at is left out).
	CodeNoExpiry = "no-expiry"
)

// Finding is one thing wrong with a token.
type Finding struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

// Thresholds tune the checks. The zero value of a duration disables the
// check that uses it (except the expiry windows, which then never fire).
type Thresholds struct {
	ExpiresCritical time.Duration // expires-soon is critical within this (default 7d)
	ExpiresWarning  time.Duration // expires-soon is a warning within this (default 30d)
	NeverUsedGrace  time.Duration // never-used only for tokens older than this (default 7d)
	UnusedAfter     time.Duration // unused when last used longer ago than this (default 90d)
	MaxLifetime     time.Duration // long-lived when created→expires exceeds this (default 180d)
}

// DefaultThresholds mirror GitLab's own expiry mails (7 and 30 days) and the
// findings the README documents (unused after 90 days, long-lived over 180).
func DefaultThresholds() Thresholds {
	return Thresholds{
		ExpiresCritical: 7 * duration.Day,
		ExpiresWarning:  30 * duration.Day,
		NeverUsedGrace:  7 * duration.Day,
		UnusedAfter:     90 * duration.Day,
		MaxLifetime:     180 * duration.Day,
	}
}

// ExpiryNotices are how long before a token expires serve notifies about
// it: when it crosses the warning and the critical threshold (when scan
// starts to flag it, and when that becomes critical), and one day before.
func (th Thresholds) ExpiryNotices() []time.Duration {
	return []time.Duration{th.ExpiresWarning, th.ExpiresCritical, duration.Day}
}

// Check is one named policy: it returns a finding and true when it applies.
type Check struct {
	Code string
	Run  func(tok gitlab.Token, now time.Time, th Thresholds) (Finding, bool)
}

// Checks is the chain Evaluate runs, in the order findings are listed.
var Checks = []Check{
	{CodeExpired, checkExpired},
	{CodeExpiresSoon, checkExpiresSoon},
	{CodeNeverUsed, checkNeverUsed},
	{CodeUnused, checkUnused},
	{CodeOverPrivileged, checkOverPrivileged},
	{CodeNoExpiry, checkNoExpiry},
	{CodeLongLived, checkLongLived},
	{CodeUndescriptiveName, checkUndescriptiveName},
	{CodeNoDescription, checkNoDescription},
}

// Evaluate returns every finding for tok at now, most severe first (ties in
// chain order). A revoked token has none: it can no longer hurt. An expired
// token has only `expired`: the rest no longer matters.
func Evaluate(tok gitlab.Token, now time.Time, th Thresholds) []Finding {
	switch tok.State(now) {
	case gitlab.StateRevoked:
		return nil
	case gitlab.StateExpired:
		f, _ := checkExpired(tok, now, th)
		return []Finding{f}
	}
	var out []Finding
	for _, c := range Checks {
		if f, ok := c.Run(tok, now, th); ok {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return Rank(out[i].Severity) > Rank(out[j].Severity) })
	return out
}

// Rank orders severities: critical 3, warning 2, info 1, anything else 0.
func Rank(severity string) int {
	switch severity {
	case SeverityCritical:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// Worst is the most severe severity among fs, or "" when there are none.
func Worst(fs []Finding) string {
	worst := ""
	for _, f := range fs {
		if Rank(f.Severity) > Rank(worst) {
			worst = f.Severity
		}
	}
	return worst
}

// DaysLeft is the token's expires_at date minus today's date (UTC), as
// GitLab's UI counts: 3 means it stops working at 00:00 UTC three dates from
// now; 0 or less means it has expired. ok is false for tokens without expiry.
func DaysLeft(tok gitlab.Token, now time.Time) (days int, ok bool) {
	if tok.ExpiresAt == nil {
		return 0, false
	}
	today := now.UTC().Truncate(duration.Day)
	exp := tok.ExpiresAt.UTC().Truncate(duration.Day)
	return int(exp.Sub(today) / duration.Day), true
}
