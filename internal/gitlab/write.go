package gitlab

import (
	"context"
	"errors"
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

// pid names the resource in a URL: its id once resolved, else its full path
// (GitLab accepts either; a self-rotating token may not be allowed to look
// its project up).
func (r Resource) pid() any {
	if r.ID != 0 {
		return r.ID
	}
	return r.Path
}

func resourceToken(t *gl.GroupAccessToken, res Resource) Token {
	return toToken(t.PersonalAccessToken, int(t.AccessLevel), res)
}

// TokensNamed lists res's access tokens called name, in every state, id
// ascending.
func (c *Client) TokensNamed(ctx context.Context, res Resource, name string) ([]Token, error) {
	var out []Token
	for page := int64(1); page != 0; {
		lo := gl.ListOptions{Page: page, PerPage: perPage}
		var list []*gl.GroupAccessToken
		var resp *gl.Response
		var err error
		if res.Type == "group" {
			list, resp, err = c.api.GroupAccessTokens.ListGroupAccessTokens(res.pid(),
				&gl.ListGroupAccessTokensOptions{ListOptions: lo, Search: &name}, gl.WithContext(ctx))
		} else {
			var pl []*gl.ProjectAccessToken
			// client-go has no search option for project tokens.
			pl, resp, err = c.api.ProjectAccessTokens.ListProjectAccessTokens(res.pid(),
				&gl.ListProjectAccessTokensOptions{ListOptions: lo}, gl.WithContext(ctx))
			for _, p := range pl {
				list = append(list, (*gl.GroupAccessToken)(p))
			}
		}
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
	var t *gl.GroupAccessToken
	var err error
	if res.Type == "group" {
		t, _, err = c.api.GroupAccessTokens.GetGroupAccessToken(res.pid(), id, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = c.api.ProjectAccessTokens.GetProjectAccessToken(res.pid(), id, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
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
	var t *gl.GroupAccessToken
	var err error
	if res.Type == "group" {
		t, _, err = c.api.GroupAccessTokens.CreateGroupAccessToken(res.pid(), &gl.CreateGroupAccessTokenOptions{
			Name: &s.Name, Description: &s.Description, Scopes: &s.Scopes, AccessLevel: &al, ExpiresAt: isoDate(s.ExpiresAt),
		}, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = c.api.ProjectAccessTokens.CreateProjectAccessToken(res.pid(), &gl.CreateProjectAccessTokenOptions{
			Name: &s.Name, Description: &s.Description, Scopes: &s.Scopes, AccessLevel: &al, ExpiresAt: isoDate(s.ExpiresAt),
		}, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
	if err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "create token %q in %s %s", s.Name, res.Type, res.Path)
	}
	return resourceToken(t, res), secret.New(t.Token), nil
}

// RotateAccessToken rotates token id: GitLab revokes it at once and returns
// its successor.
func (c *Client) RotateAccessToken(ctx context.Context, res Resource, id int64, expires time.Time) (Token, secret.Secret, error) {
	var t *gl.GroupAccessToken
	var err error
	if res.Type == "group" {
		t, _, err = c.api.GroupAccessTokens.RotateGroupAccessToken(res.pid(), id,
			&gl.RotateGroupAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = c.api.ProjectAccessTokens.RotateProjectAccessToken(res.pid(), id,
			&gl.RotateProjectAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
	if err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "rotate token %d in %s %s", id, res.Type, res.Path)
	}
	return resourceToken(t, res), secret.New(t.Token), nil
}

// SelfRotateAccessToken rotates the token this client authenticates with.
func (c *Client) SelfRotateAccessToken(ctx context.Context, res Resource, expires time.Time) (Token, secret.Secret, error) {
	var t *gl.GroupAccessToken
	var err error
	if res.Type == "group" {
		t, _, err = c.api.GroupAccessTokens.RotateGroupAccessTokenSelf(res.pid(),
			&gl.RotateGroupAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = c.api.ProjectAccessTokens.RotateProjectAccessTokenSelf(res.pid(),
			&gl.RotateProjectAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
	if err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "self-rotate token in %s %s", res.Type, res.Path)
	}
	return resourceToken(t, res), secret.New(t.Token), nil
}

// RevokeToken revokes a group, project or personal access token. A token
// that is already gone (404) counts as revoked: alreadyGone says so.
func (c *Client) RevokeToken(ctx context.Context, res Resource, id int64) (alreadyGone bool, err error) {
	switch res.Type {
	case "group":
		_, err = c.api.GroupAccessTokens.RevokeGroupAccessToken(res.pid(), id, gl.WithContext(ctx))
	case "project":
		_, err = c.api.ProjectAccessTokens.RevokeProjectAccessToken(res.pid(), id, gl.WithContext(ctx))
	case "user":
		_, err = c.api.PersonalAccessTokens.RevokePersonalAccessTokenByID(id, gl.WithContext(ctx))
	default:
		return false, invalid("cannot revoke a token of a %q", res.Type)
	}
	// client-go answers every 404 with the sentinel gl.ErrNotFound.
	if errors.Is(err, gl.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, c.fail(err, "revoke token %d of %s %s", id, res.Type, res.Path)
	}
	return false, nil
}

// Probe sends method path (relative to /api/v4) and fails unless GitLab
// answers 2xx: it proves that the client's token can do what a consumer needs.
func (c *Client) Probe(ctx context.Context, method, path string) error {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "/"), "api/v4/")
	req, err := c.api.NewRequest(method, path, nil, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return c.fail(err, "%s /api/v4/%s", method, path)
	}
	_, err = c.api.Do(req, nil)
	return c.fail(err, "%s /api/v4/%s", method, path)
}
