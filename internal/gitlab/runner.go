package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// A runner's authentication token (docs/gitlab-api.md, "Runners"): one per
// runner, never shown by the REST API, replaced only by a reset that kills
// the old one at once. Its expiry is only in the answers of reset and of
// POST /runners/verify.

// RunnerDetails is GET /runners/:id: the runner a runner token belongs
// to, as a Token of KindRunnerToken (its Resource names the runner's type:
// instance, group or project). ExpiresAt is nil: GitLab does not show it.
func (c *Client) RunnerDetails(ctx context.Context, id int64) (Token, error) {
	var r struct {
		runnerJSON
		Groups []struct {
			FullPath string `json:"full_path"`
		} `json:"groups"`
		Projects []struct {
			PathWithNamespace string `json:"path_with_namespace"`
		} `json:"projects"`
	}
	if _, err := c.send(ctx, http.MethodGet, "runners/"+strconv.FormatInt(id, 10), nil, &r); err != nil {
		return Token{}, c.fail(err, "read runner %d", id)
	}
	res := Resource{Type: "instance", Path: "(instance)"}
	switch {
	case r.RunnerType == "group_type" && len(r.Groups) > 0:
		res = Resource{Type: "group", Path: r.Groups[0].FullPath}
	case r.RunnerType == "project_type" && len(r.Projects) > 0:
		res = Resource{Type: "project", Path: r.Projects[0].PathWithNamespace}
	}
	t := Token{ID: r.ID, Name: r.Description, Resource: res, Kind: KindRunnerToken, Active: !r.Paused, ExpiryUnknown: true, UsageUnknown: true}
	if r.CreatedAt != nil {
		t.CreatedAt = r.CreatedAt.UTC()
	}
	return t, nil
}

// runnerTokenJSON is Entities::Ci::ResetTokenResult, and what
// POST /runners/verify answers (with the runner's id).
type runnerTokenJSON struct {
	ID             int64      `json:"id"`
	Token          string     `json:"token"`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
}

// ResetRunnerToken is POST /runners/:id/reset_authentication_token: a new
// token for runner id and its expiry (nil: it never expires). GitLab kills
// the old token at once. Like every write, it is never retried blindly.
func (c *Client) ResetRunnerToken(ctx context.Context, id int64) (secret.Secret, *time.Time, error) {
	var out runnerTokenJSON
	if _, err := c.send(ctx, http.MethodPost, "runners/"+strconv.FormatInt(id, 10)+"/reset_authentication_token", nil, &out); err != nil {
		return secret.Secret{}, nil, c.fail(err, "reset the authentication token of runner %d", id)
	}
	return secret.New(out.Token), utcPtr(out.TokenExpiresAt), nil
}

// VerifyRunnerToken is POST /runners/verify with sec, what gitlab-runner
// calls: the id of the runner sec belongs to and the token's expiry (nil:
// never), or an error (403 for a dead or unknown token). GitLab records it
// as the runner's contact, as it does every request of the runner itself.
func (c *Client) VerifyRunnerToken(ctx context.Context, sec secret.Secret) (int64, *time.Time, error) {
	var out runnerTokenJSON
	body := map[string]string{"token": sec.Reveal()}
	if _, err := c.send(ctx, http.MethodPost, "runners/verify", body, &out); err != nil {
		return 0, nil, c.fail(err, "POST /api/v4/runners/verify")
	}
	return out.ID, utcPtr(out.TokenExpiresAt), nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
