package gitlab

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// The calls that change or pin down one token: resolve its resource, find it
// by name, mint (create, rotate, self-rotate), revoke. Every error is an
// *Error whose message starts with what was being done, so callers can tell
// a refusal (Permanent) from a transport failure. Create and rotate are sent
// once: the client never retries a POST (see checkRetry).

// Resolve looks a group or project up by full path.
func (c *Client) Resolve(ctx context.Context, kind, path string) (Resource, error) {
	switch kind {
	case "group":
		//lint:ignore SA1019 with_projects=false keeps GitLab from embedding up to 100 projects in the answer; still honoured by API v4
		g, _, err := c.api.Groups.GetGroup(path, &gl.GetGroupOptions{WithProjects: gl.Ptr(false)}, gl.WithContext(ctx))
		if err != nil {
			return Resource{}, c.failOn(err, Resource{Type: kind, Path: path}, "group %s", path)
		}
		return Resource{Type: "group", ID: g.ID, Path: g.FullPath}, nil
	case "project":
		p, _, err := c.api.Projects.GetProject(path, nil, gl.WithContext(ctx))
		if err != nil {
			return Resource{}, c.failOn(err, Resource{Type: kind, Path: path}, "project %s", path)
		}
		return Resource{Type: "project", ID: p.ID, Path: p.PathWithNamespace}, nil
	}
	return Resource{}, invalid("unknown resource type %q", kind)
}

// resourcePath is a group's or project's API path, followed by rest. It
// names the resource by id once resolved, else by full path (GitLab accepts
// either; a self-rotating token may not be allowed to look its project up).
// groups/:id/… and projects/:id/… are the same API for access tokens,
// members and CI/CD variables, so one code path serves both.
func resourcePath(res Resource, rest string) (string, error) {
	if res.Type != "group" && res.Type != "project" {
		return "", invalid("a %q has no access tokens or CI/CD variables", res.Type)
	}
	id := res.Path
	if res.ID != 0 {
		id = strconv.FormatInt(res.ID, 10)
	}
	return res.Type + "s/" + gl.PathEscape(id) + rest, nil
}

// send makes one request through client-go (retries, pacing, the guard)
// and decodes a success into out (nil: ignore the body).
func (c *Client) send(ctx context.Context, method, path string, opt, out any) (*gl.Response, error) {
	req, err := c.api.NewRequest(method, path, opt, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return nil, err
	}
	return c.api.Do(req, out)
}

// tokenCall sends one request about res's access tokens (rest follows
// …/access_tokens) and returns the token GitLab answers with.
func (c *Client) tokenCall(ctx context.Context, method string, res Resource, rest string, opt any) (*gl.GroupAccessToken, error) {
	path, err := resourcePath(res, "/access_tokens"+rest)
	if err != nil {
		return nil, err
	}
	var t gl.GroupAccessToken // a project access token has the same fields
	if _, err := c.send(ctx, method, path, opt, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func resourceToken(t *gl.GroupAccessToken, res Resource) Token {
	return toToken(t.PersonalAccessToken, int(t.AccessLevel), res)
}

// TokensNamed lists res's access tokens called name, in every state, id
// ascending.
func (c *Client) TokensNamed(ctx context.Context, res Resource, name string) ([]Token, error) {
	path, err := resourcePath(res, "/access_tokens")
	if err != nil {
		return nil, err
	}
	var out []Token
	for page := int64(1); page != 0; {
		opt := &gl.ListGroupAccessTokensOptions{ListOptions: gl.ListOptions{Page: page, PerPage: perPage}}
		if res.Type == "group" {
			opt.Search = &name // GitLab's project token list has no search
		}
		var list []*gl.GroupAccessToken
		resp, err := c.send(ctx, http.MethodGet, path, opt, &list)
		if err != nil {
			return nil, c.failOn(err, res, "list %s %s tokens", res.Type, res.Path)
		}
		for _, t := range list {
			if t.Name == name {
				out = append(out, resourceToken(t, res))
			}
		}
		page = resp.NextPage
	}
	return out, nil
}

// AccessToken reads one group or project access token.
func (c *Client) AccessToken(ctx context.Context, res Resource, id int64) (Token, error) {
	t, err := c.tokenCall(ctx, http.MethodGet, res, "/"+strconv.FormatInt(id, 10), nil)
	if err != nil {
		return Token{}, c.fail(err, "read token %d of %s %s", id, res.Type, res.Path)
	}
	return resourceToken(t, res), nil
}

// MintSpec is what a new access token gets.
type MintSpec struct {
	Name, Description string
	Scopes            []string
	AccessLevel       int
	ExpiresAt         time.Time // a date; GitLab keeps only the day
}

func isoDate(t time.Time) *gl.ISOTime {
	d := gl.ISOTime(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
	return &d
}

// CreateAccessToken mints a new group or project access token.
func (c *Client) CreateAccessToken(ctx context.Context, res Resource, s MintSpec) (Token, secret.Secret, error) {
	al := gl.AccessLevelValue(s.AccessLevel)
	t, err := c.tokenCall(ctx, http.MethodPost, res, "", &gl.CreateGroupAccessTokenOptions{
		Name: &s.Name, Description: &s.Description, Scopes: &s.Scopes, AccessLevel: &al, ExpiresAt: isoDate(s.ExpiresAt),
	})
	if err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "create token %q in %s %s", s.Name, res.Type, res.Path)
	}
	return resourceToken(t, res), secret.New(t.Token), nil
}

// RotateAccessToken rotates token id: GitLab revokes it at once and returns
// its successor.
func (c *Client) RotateAccessToken(ctx context.Context, res Resource, id int64, expires time.Time) (Token, secret.Secret, error) {
	t, err := c.tokenCall(ctx, http.MethodPost, res, "/"+strconv.FormatInt(id, 10)+"/rotate",
		&gl.RotateGroupAccessTokenOptions{ExpiresAt: isoDate(expires)})
	if err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "rotate token %d in %s %s", id, res.Type, res.Path)
	}
	return resourceToken(t, res), secret.New(t.Token), nil
}

// SelfRotateAccessToken rotates the token this client authenticates with.
func (c *Client) SelfRotateAccessToken(ctx context.Context, res Resource, expires time.Time) (Token, secret.Secret, error) {
	t, err := c.tokenCall(ctx, http.MethodPost, res, "/self/rotate", &gl.RotateGroupAccessTokenOptions{ExpiresAt: isoDate(expires)})
	if err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "self-rotate token in %s %s", res.Type, res.Path)
	}
	return resourceToken(t, res), secret.New(t.Token), nil
}

// RevokeToken revokes a group, project or personal access token. A token
// that is already gone (404) counts as revoked: alreadyGone says so.
func (c *Client) RevokeToken(ctx context.Context, res Resource, id int64) (alreadyGone bool, err error) {
	path := "personal_access_tokens/" + strconv.FormatInt(id, 10)
	if res.Type != "user" {
		if path, err = resourcePath(res, "/access_tokens/"+strconv.FormatInt(id, 10)); err != nil {
			return false, err
		}
	}
	return c.deleteGone(ctx, path, "revoke token %d of %s %s", id, res.Type, res.Path)
}

// deleteGone sends DELETE path. A 404 means what it deletes is already
// gone: alreadyGone says so, and it is no error. op names the call in an
// error.
func (c *Client) deleteGone(ctx context.Context, path, op string, args ...any) (alreadyGone bool, err error) {
	return c.sendGone(ctx, http.MethodDelete, path, op, args...)
}

// sendGone sends method path, ignoring the answer's body; a 404 is
// alreadyGone.
func (c *Client) sendGone(ctx context.Context, method, path, op string, args ...any) (alreadyGone bool, err error) {
	_, err = c.send(ctx, method, path, nil, nil)
	// client-go answers every 404 with the sentinel gl.ErrNotFound.
	if errors.Is(err, gl.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, c.fail(err, op, args...)
	}
	return false, nil
}

// Probe sends method path (relative to /api/v4) and fails unless GitLab
// answers 2xx: it proves that the client's token can do what a consumer needs.
func (c *Client) Probe(ctx context.Context, method, path string) error {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "/"), "api/v4/")
	_, err := c.send(ctx, method, path, nil, nil)
	return c.fail(err, "%s /api/v4/%s", method, path)
}
