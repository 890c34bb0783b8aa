package doctor

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// checkValid asks GitLab about the token itself (GET /personal_access_tokens/self,
// which answers for any scope and for group and project tokens too).
func checkValid(ctx context.Context, s *session) Result {
	api, err := s.client()
	if err != nil {
		return fail(fmt.Sprintf("cannot talk to %s: %v", s.baseURL, err), "check --url")
	}
	self, err := api.SelfToken(ctx)
	if err != nil {
		return s.rejected(ctx, classify(err))
	}
	s.self = self
	s.scopes = map[string]bool{}
	for _, sc := range self.Scopes {
		s.scopes[sc] = true
	}
	name := fmt.Sprintf("%q", self.Name)
	if self.ExpiresAt == nil {
		return pass(name + " is active and does not expire")
	}
	exp := self.ExpiresAt.UTC()
	now := s.clock.Now().UTC()
	days := daysBetween(now, exp)
	if exp.Sub(now) < s.warnIn {
		return warn(fmt.Sprintf("%s is active but expires %s, on %s", name, inDays(days), exp.Format(time.DateOnly)),
			fmt.Sprintf("rotate it before %s: create a successor with the same scopes (tokenwarden rotate, or in GitLab's settings), put it into %s, then revoke the old one — or let tokenwarden manage it so this happens on time", exp.Format(time.DateOnly), s.in.Origin.Label()))
	}
	return pass(fmt.Sprintf("%s is active, expires on %s (%s)", name, exp.Format(time.DateOnly), inDays(days)))
}

// rejected explains why GitLab did not accept the token.
func (s *session) rejected(ctx context.Context, a apiError) Result {
	where := s.in.Origin.Label()
	replace := fmt.Sprintf("create a new access token with the scopes the consumer needs and put it into %s", where)
	switch {
	case a.transport != nil:
		return fail(fmt.Sprintf("%s did not answer: %s", s.baseURL, plainError(a.transport)), "check the network path to the instance, then run doctor again")
	case a.expired():
		when := ""
		if exp, ok := s.lookupExpiry(ctx); ok {
			when = fmt.Sprintf(" on %s (%s)", exp.Format(time.DateOnly), daysAgo(daysBetween(exp, s.clock.Now().UTC())))
		}
		return fail("GitLab says the token expired"+when, fmt.Sprintf("an expired token cannot be renewed: %s (tokenwarden rotate REF can do both for a token it manages; an expired, not revoked token can still be rotated)", replace))
	case a.revoked():
		return fail("GitLab says the token was revoked", fmt.Sprintf("a revoked token never works again: %s; if it was revoked because it leaked, find out where it was exposed first", replace))
	case a.status == http.StatusUnauthorized:
		return fail(fmt.Sprintf("%s does not know this token (401 Unauthorized)", s.baseURL),
			fmt.Sprintf("the token was deleted, mistyped, or belongs to another GitLab instance: check that %s is the instance it was created on, otherwise %s", s.baseURL, replace))
	case a.status == http.StatusForbidden:
		return fail(fmt.Sprintf("GitLab refuses the token: %s", a), "the token's user may be blocked, deactivated or locked: ask the instance's admins")
	case a.status == http.StatusNotFound:
		return s.validWithoutSelf(ctx)
	}
	return fail(fmt.Sprintf("GitLab answered %s when asked about the token", a), "run doctor again; if it persists, the instance has a problem: ask its admins")
}

// validWithoutSelf covers instances older than GitLab 15.5, which lack
// /personal_access_tokens/self: the token is valid if GET /user accepts it.
func (s *session) validWithoutSelf(ctx context.Context) Result {
	_, err := s.api.CurrentUser(ctx)
	if err == nil || classify(err).insufficientScope() {
		return warn("GitLab accepts the token, but this instance cannot tell its expiry or scopes (no /personal_access_tokens/self before GitLab 15.5)",
			"check the token's expiry date in GitLab's access token settings")
	}
	return s.rejected(ctx, classify(err))
}

// daysBetween counts calendar days (UTC) from a to b.
func daysBetween(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// inDays says d days ahead: today, tomorrow, in 5 days.
func inDays(d int) string { return days(d, "tomorrow", "in %d days") }

// daysAgo says d days back: today, yesterday, 5 days ago.
func daysAgo(d int) string { return days(d, "yesterday", "%d days ago") }

func days(d int, one, many string) string {
	switch {
	case d <= 0:
		return "today"
	case d == 1:
		return one
	}
	return fmt.Sprintf(many, d)
}
