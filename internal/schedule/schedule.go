// Package schedule owns "what does this managed token need, and when": pure
// functions of gathered facts and the rotation policy, in the manner of
// cert-manager's gatherer plus policy. The engine gathers the facts (GitLab's
// live token, the journal, what each sink holds); Decide turns them into one
// action and a time. plan, apply, serve and the dashboard all go through it.
// Nothing here reads a clock or does I/O; callers pass now.
//
// A GitLab token stops working at 00:00 UTC on its expires_at date, so the
// expiry arguments are that instant (midnight UTC of the date).
package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Policy is the part of a managed token's configuration that decides when it
// is renewed.
type Policy struct {
	// Lifetime is the configured lifetime of a new token.
	Lifetime time.Duration
	// RotateBefore is how long before expiry the token is renewed, as
	// configured. Zero means the default: one third of Lifetime. It is never
	// replaced by anything derived from the token's actual lifetime.
	RotateBefore time.Duration
	// Critical is the threshold at which scan flags a token expires-soon
	// critical (policy.expires_critical, default 7d). A managed token is
	// renewed no later than that, so that plan never calls "ok" what scan
	// calls critical. Zero: no such floor.
	Critical time.Duration
}

// Before is the renewal window: how long before expiry the token is renewed.
func (p Policy) Before() time.Duration {
	b := p.RotateBefore
	if b <= 0 {
		b = p.Lifetime / 3
	}
	if p.Critical > b {
		b = p.Critical
	}
	return b
}

// MaxLifetime is the longest lifetime GitLab grants a token: its expires_at
// may be at most today + 365 days.
const MaxLifetime = 365 * 24 * time.Hour

// RenewAt returns when a token expiring at expiresAt should be renewed under
// p, truncated to the second: Before() ahead of its expiry. It reports false
// when the token never expires (expiresAt nil).
func RenewAt(expiresAt *time.Time, p Policy) (time.Time, bool) {
	if expiresAt == nil {
		return time.Time{}, false
	}
	return expiresAt.Add(-p.Before()).Truncate(time.Second), true
}

// ExpiresAtFor returns the expires_at date (as 00:00 UTC of that date) for a
// token minted at now with the given lifetime: the first midnight UTC at or
// after now+lifetime, so that the token lives at least its lifetime, but never
// beyond today+365 days (GitLab's limit) and never earlier than tomorrow.
func ExpiresAtFor(now time.Time, lifetime time.Duration) time.Time {
	today := date(now)
	end := now.Add(lifetime)
	d := date(end)
	if d.Before(end) {
		d = d.AddDate(0, 0, 1)
	}
	if max := today.AddDate(0, 0, 365); d.After(max) {
		d = max
	}
	if min := today.AddDate(0, 0, 1); d.Before(min) {
		d = min
	}
	return d
}

// date returns 00:00 UTC of t's date in UTC.
func date(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Action is what a managed token needs.
type Action string

const (
	// None: healthy; nothing to do until Decision.RenewAt.
	None Action = "none"
	// Create: no live token by that name; mint one.
	Create Action = "create"
	// Rotate: the live token is due for renewal (or never expires).
	Rotate Action = "rotate"
	// Deliver: tokenwarden knows the live token's secret, but a sink does
	// not hold it: deliver it again, no new token.
	Deliver Action = "deliver"
	// Adopt: tokenwarden has never known the live token's secret, so no sink
	// can hold one from it: rotate to obtain a secret, then deliver it.
	Adopt Action = "adopt"
)

// Live is GitLab's live token for a managed name.
type Live struct {
	ID        int64
	CreatedAt time.Time
	ExpiresAt *time.Time // nil: never expires
}

// Holding is what one sink holds, compared with the live token's secret.
type Holding string

const (
	// Holds: the sink holds the secret tokenwarden delivered for the live
	// token (read back, or journaled as delivered for write-only sinks).
	Holds Holding = "holds"
	// Missing: the sink has never been given the live token's secret (an
	// adopted token, or a sink added to the config) or holds nothing.
	Missing Holding = "missing"
	// Changed: the sink holds something else than what tokenwarden delivered.
	Changed Holding = "changed"
)

// SinkFact is what one configured sink holds.
type SinkFact struct {
	Name    string // for humans: the sink's description
	Holding Holding
}

// Failure is the token's most recent rotation, when it failed.
type Failure struct {
	RotationID string
	Error      string
	// Detail says what the failed rotation left behind, e.g. "new token 12
	// and old token 9 are both still alive". May be empty.
	Detail string
}

// Facts is what the engine gathered about one managed token at Now.
type Facts struct {
	Now  time.Time
	Live *Live // nil: no active token with the configured name
	// SecretKnown: the journal holds the live token's secret (tokenwarden
	// minted it, or delivered it before).
	SecretKnown bool
	// Verified: the live token's secret passed verification (when its
	// rotation ran, or when it was checked again after a failure).
	Verified bool
	Sinks    []SinkFact
	// AdoptWait: the config says to leave an adopted token's sinks alone
	// until its next scheduled rotation (adopt: wait).
	AdoptWait bool
	// LastFailure is set when the token's most recent rotation failed.
	LastFailure *Failure
}

// Decision is what the token needs and when.
type Decision struct {
	Action Action
	Reason string
	// RenewAt is when the live token is (or was) due for renewal; nil when
	// there is no live token or it never expires.
	RenewAt *time.Time
	// Warning is set while the last failed rotation still needs a person: the
	// live token is not yet healthy, verified and held by every sink. It says
	// what the failure left behind and what to do.
	Warning string
	// Note explains a failure that no longer counts (the live token is
	// healthy since), or an adopted token left alone (adopt: wait).
	Note string
}

// Due reports whether the decision changes something (apply would act).
func (d Decision) Due() bool { return d.Action != None }

// Decide turns the facts about one managed token into an action. ref names
// the token in hints (e.g. "project/a/b:deploy").
func Decide(f Facts, p Policy, ref string) Decision {
	var d Decision
	missing := f.missing()
	healthy := f.Live != nil && f.SecretKnown && f.Verified && len(missing) == 0

	switch {
	case f.Live == nil:
		d.Action = Create
		d.Reason = "no active token with this name"
	case f.Live.ExpiresAt == nil:
		d.Action = Rotate
		d.Reason = fmt.Sprintf("token %d never expires; replace it with one that does", f.Live.ID)
	default:
		renew, _ := RenewAt(f.Live.ExpiresAt, p)
		d.RenewAt = &renew
		expires := f.Live.ExpiresAt.UTC().Format(time.DateOnly)
		switch {
		case !f.Now.Before(renew):
			d.Action = Rotate
			d.Reason = fmt.Sprintf("token %d expires %s; due for renewal since %s (%s before expiry)",
				f.Live.ID, expires, renew.UTC().Format(time.RFC3339), days(p.Before()))
		case len(missing) > 0 && f.SecretKnown:
			d.Action = Deliver
			d.Reason = fmt.Sprintf("token %d expires %s; %s: deliver its secret again (no new token)",
				f.Live.ID, expires, missingText(missing))
		case len(missing) > 0 && f.AdoptWait:
			d.Action = None
			d.Reason = fmt.Sprintf("token %d expires %s; next rotation %s", f.Live.ID, expires, renew.UTC().Format(time.RFC3339))
			d.Note = fmt.Sprintf("%s; adopt: wait leaves them until the next rotation", missingText(missing))
		case len(missing) > 0:
			d.Action = Adopt
			d.Reason = fmt.Sprintf("token %d expires %s; %s: tokenwarden never knew this token's secret, so it rotates to obtain one",
				f.Live.ID, expires, missingText(missing))
		default:
			d.Action = None
			d.Reason = fmt.Sprintf("token %d expires %s; next rotation %s", f.Live.ID, expires, renew.UTC().Format(time.RFC3339))
		}
	}

	if fl := f.LastFailure; fl != nil {
		msg := fmt.Sprintf("last rotation %s failed: %s", fl.RotationID, fl.Error)
		if fl.Detail != "" {
			msg += " (" + fl.Detail + ")"
		}
		if healthy {
			d.Note = joinNote(d.Note, msg+fmt.Sprintf("; since then live token %d is verified and held by every sink: nothing to fix", f.Live.ID))
		} else {
			d.Warning = msg + "; " + f.unhealthy(missing) + "; fix the cause, then run `tokenwarden rotate " + ref + "`"
		}
	}
	return d
}

// missing returns the sinks that do not hold the live token's secret.
func (f Facts) missing() []SinkFact {
	var out []SinkFact
	for _, s := range f.Sinks {
		if s.Holding != Holds {
			out = append(out, s)
		}
	}
	return out
}

// unhealthy says why the live token does not count as healthy.
func (f Facts) unhealthy(missing []SinkFact) string {
	switch {
	case f.Live == nil:
		return "there is no live token"
	case !f.SecretKnown:
		return fmt.Sprintf("tokenwarden does not know live token %d's secret", f.Live.ID)
	case !f.Verified:
		return fmt.Sprintf("live token %d has not passed verification", f.Live.ID)
	default:
		return missingText(missing)
	}
}

func missingText(missing []SinkFact) string {
	var parts []string
	for _, s := range missing {
		switch s.Holding {
		case Changed:
			parts = append(parts, s.Name+" holds something else")
		default:
			parts = append(parts, s.Name+" holds no secret from tokenwarden")
		}
	}
	return strings.Join(parts, ", ")
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// days renders a window such as 720h as "30d", 496h as "20d16h", and less
// than a day as "8h" or "1h30m", to the minute.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	n, rest := d/day, (d % day).Round(time.Minute)
	if rest == day {
		n, rest = n+1, 0
	}
	text := rest.String() // e.g. "16h0m0s", "1h30m0s", "0s"
	text = strings.TrimSuffix(text, "0s")
	if strings.HasSuffix(text, "h0m") {
		text = strings.TrimSuffix(text, "0m")
	}
	switch {
	case n == 0:
		return text
	case rest == 0:
		return fmt.Sprintf("%dd", n)
	default:
		return fmt.Sprintf("%dd%s", n, text)
	}
}
