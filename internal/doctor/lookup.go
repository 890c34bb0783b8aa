package doctor

import (
	"context"
	"time"
)

// lookupExpiry asks GitLab's token information API (POST /admin/token,
// administrators only, GitLab 17.5+) when the token expired. GitLab tells an
// expired token nothing about itself, so without an administrator's lookup
// token the date stays unknown.
func (s *session) lookupExpiry(ctx context.Context) (time.Time, bool) {
	if s.in.Lookup.IsZero() {
		return time.Time{}, false
	}
	c, err := s.newClient(s.in.Lookup)
	if err != nil {
		return time.Time{}, false
	}
	t, err := c.LookupToken(ctx, s.in.Token)
	if err != nil || t.ExpiresAt == nil {
		return time.Time{}, false
	}
	return t.ExpiresAt.UTC(), true
}
