// Package schedule owns "when is this token due": pure functions of a token's
// creation time, its expiry and the rotation policy, in the manner of
// cert-manager's renewal time. Nothing here reads a clock; callers pass now.
//
// A GitLab token stops working at 00:00 UTC on its expires_at date, so the
// expiresAt arguments are that instant (midnight UTC of the date).
package schedule

import "time"

// Policy is the part of a managed token's configuration that decides when it
// is renewed.
type Policy struct {
	// Lifetime is how long a new token lives. It also bounds the age of a
	// token that never expires (see Due).
	Lifetime time.Duration
	// RotateBefore is how long before expiry the token is renewed. Zero, or
	// a value not shorter than the token's actual lifetime, means one third
	// of the actual lifetime (expiresAt - createdAt).
	RotateBefore time.Duration
}

// MaxLifetime is the longest lifetime GitLab grants a token: its expires_at
// may be at most today + 365 days.
const MaxLifetime = 365 * 24 * time.Hour

// RenewAt returns when a token created at createdAt and expiring at expiresAt
// should be renewed under p, truncated to the second. It reports false when
// the token never expires (expiresAt nil).
func RenewAt(createdAt time.Time, expiresAt *time.Time, p Policy) (time.Time, bool) {
	if expiresAt == nil {
		return time.Time{}, false
	}
	actual := expiresAt.Sub(createdAt)
	before := p.RotateBefore
	if before <= 0 || (actual > 0 && before >= actual) {
		// Like cert-manager: a renew-before that would renew at once (or
		// before creation) falls back to the default, one third left.
		before = actual / 3
	}
	if before < 0 {
		before = 0
	}
	return expiresAt.Add(-before).Truncate(time.Second), true
}

// Due reports whether a token must be renewed at now. A token that never
// expires is due once it is older than p.Lifetime (when set), so that a
// managed token always ends up with an expiry.
func Due(now time.Time, createdAt time.Time, expiresAt *time.Time, p Policy) bool {
	at, ok := RenewAt(createdAt, expiresAt, p)
	if !ok {
		return p.Lifetime > 0 && !now.Before(createdAt.Add(p.Lifetime))
	}
	return !now.Before(at)
}

// ExpiresAtFor returns the expires_at date (as 00:00 UTC of that date) for a
// token minted at now with the given lifetime: now+lifetime truncated to the
// date, never beyond today+365 days (GitLab's limit) and never earlier than
// tomorrow (a token expiring today is already expired).
func ExpiresAtFor(now time.Time, lifetime time.Duration) time.Time {
	today := date(now)
	d := date(now.Add(lifetime))
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
