package doctor

import (
	"context"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// lookupExpiry asks GitLab's token information API (POST /admin/token,
// administrators only, GitLab 17.5+) when the token expired. GitLab tells an
// expired token nothing about itself, so without an administrator's lookup
// token the date stays unknown.
func (s *session) lookupExpiry(ctx context.Context) (time.Time, bool) {
	if s.in.Lookup.IsZero() {
		return time.Time{}, false
	}
	c, err := gitlab.New(gitlab.Config{URL: s.baseURL, Token: s.in.Lookup, HTTPClient: s.http, RetryMax: 1, Timeout: s.timeout})
	if err != nil {
		return time.Time{}, false
	}
	body := map[string]string{"token": s.in.Token.Reveal()}
	req, err := c.API.NewRequest(http.MethodPost, "admin/token", body, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return time.Time{}, false
	}
	var info struct {
		ExpiresAt *gl.ISOTime `json:"expires_at"`
	}
	if _, err := c.API.Do(req, &info); err != nil || info.ExpiresAt == nil {
		return time.Time{}, false
	}
	return time.Time(*info.ExpiresAt).UTC(), true
}
