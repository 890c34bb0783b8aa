package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// tokenOps are the GitLab calls the state machine makes for one resource.
// Create and rotate are sent exactly once per call: the client never retries
// POSTs, and the callers recover lost responses through the journal.
type tokenOps struct {
	api *gl.Client
	res gitlab.Resource
}

// pid is how the resource is named in a URL: its id once resolved, else its
// full path (GitLab accepts either; a self-rotating token may not be allowed
// to look its project up).
func (o tokenOps) pid() any {
	if o.res.ID != 0 {
		return o.res.ID
	}
	return o.res.Path
}

func isoDate(t time.Time) *gl.ISOTime {
	d := gl.ISOTime(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
	return &d
}

// resolve looks the resource up by its full path.
func resolve(ctx context.Context, api *gl.Client, kind, path string) (gitlab.Resource, error) {
	switch kind {
	case "group":
		g, _, err := api.Groups.GetGroup(path, nil, gl.WithContext(ctx))
		if err != nil {
			return gitlab.Resource{}, fmt.Errorf("group %s: %w", path, err)
		}
		return gitlab.Resource{Type: "group", ID: g.ID, Path: g.FullPath}, nil
	case "project":
		p, _, err := api.Projects.GetProject(path, nil, gl.WithContext(ctx))
		if err != nil {
			return gitlab.Resource{}, fmt.Errorf("project %s: %w", path, err)
		}
		return gitlab.Resource{Type: "project", ID: p.ID, Path: p.PathWithNamespace}, nil
	}
	return gitlab.Resource{}, fmt.Errorf("unknown resource type %q", kind)
}

func fromAPI(t *gl.GroupAccessToken, res gitlab.Resource) gitlab.Token {
	tok := gitlab.Token{
		ID: t.ID, Name: t.Name, Description: t.Description, Scopes: t.Scopes,
		AccessLevel: int(t.AccessLevel), Active: t.Active, Revoked: t.Revoked,
		UserID: t.UserID, Resource: res,
	}
	if t.CreatedAt != nil {
		tok.CreatedAt = *t.CreatedAt
	}
	if t.ExpiresAt != nil {
		e := time.Time(*t.ExpiresAt)
		tok.ExpiresAt = &e
	}
	tok.LastUsedAt = t.LastUsedAt
	return tok
}

// byName lists the resource's tokens called name (all states), id ascending.
func (o tokenOps) byName(ctx context.Context, name string) ([]gitlab.Token, error) {
	var out []gitlab.Token
	page := int64(1)
	for page != 0 {
		lo := gl.ListOptions{Page: page, PerPage: 100}
		var list []*gl.GroupAccessToken
		var resp *gl.Response
		var err error
		if o.res.Type == "group" {
			list, resp, err = o.api.GroupAccessTokens.ListGroupAccessTokens(o.pid(),
				&gl.ListGroupAccessTokensOptions{ListOptions: lo, Search: &name}, gl.WithContext(ctx))
		} else {
			var pl []*gl.ProjectAccessToken
			pl, resp, err = o.api.ProjectAccessTokens.ListProjectAccessTokens(o.pid(),
				&gl.ListProjectAccessTokensOptions{ListOptions: lo}, gl.WithContext(ctx))
			for _, p := range pl {
				list = append(list, (*gl.GroupAccessToken)(p))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("list %s %s tokens: %w", o.res.Type, o.res.Path, err)
		}
		for _, t := range list {
			if t.Name == name {
				out = append(out, fromAPI(t, o.res))
			}
		}
		page = resp.NextPage
	}
	return out, nil
}

func (o tokenOps) get(ctx context.Context, id int64) (gitlab.Token, error) {
	var t *gl.GroupAccessToken
	var err error
	if o.res.Type == "group" {
		t, _, err = o.api.GroupAccessTokens.GetGroupAccessToken(o.pid(), id, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = o.api.ProjectAccessTokens.GetProjectAccessToken(o.pid(), id, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
	if err != nil {
		return gitlab.Token{}, err
	}
	return fromAPI(t, o.res), nil
}

type mintSpec struct {
	Name, Description string
	Scopes            []string
	AccessLevel       int
	ExpiresAt         time.Time
}

func (o tokenOps) create(ctx context.Context, s mintSpec) (gitlab.Token, secret.Secret, error) {
	al := gl.AccessLevelValue(s.AccessLevel)
	var t *gl.GroupAccessToken
	var err error
	if o.res.Type == "group" {
		t, _, err = o.api.GroupAccessTokens.CreateGroupAccessToken(o.pid(), &gl.CreateGroupAccessTokenOptions{
			Name: &s.Name, Description: &s.Description, Scopes: &s.Scopes, AccessLevel: &al, ExpiresAt: isoDate(s.ExpiresAt),
		}, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = o.api.ProjectAccessTokens.CreateProjectAccessToken(o.pid(), &gl.CreateProjectAccessTokenOptions{
			Name: &s.Name, Description: &s.Description, Scopes: &s.Scopes, AccessLevel: &al, ExpiresAt: isoDate(s.ExpiresAt),
		}, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
	if err != nil {
		return gitlab.Token{}, secret.Secret{}, fmt.Errorf("create token %q in %s %s: %w", s.Name, o.res.Type, o.res.Path, err)
	}
	return fromAPI(t, o.res), secret.New(t.Token), nil
}

func (o tokenOps) rotate(ctx context.Context, id int64, expires time.Time) (gitlab.Token, secret.Secret, error) {
	var t *gl.GroupAccessToken
	var err error
	if o.res.Type == "group" {
		t, _, err = o.api.GroupAccessTokens.RotateGroupAccessToken(o.pid(), id,
			&gl.RotateGroupAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = o.api.ProjectAccessTokens.RotateProjectAccessToken(o.pid(), id,
			&gl.RotateProjectAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
	if err != nil {
		return gitlab.Token{}, secret.Secret{}, fmt.Errorf("rotate token %d in %s %s: %w", id, o.res.Type, o.res.Path, err)
	}
	return fromAPI(t, o.res), secret.New(t.Token), nil
}

// selfRotate is called with a client authenticated as the managed token itself.
func (o tokenOps) selfRotate(ctx context.Context, expires time.Time) (gitlab.Token, secret.Secret, error) {
	var t *gl.GroupAccessToken
	var err error
	if o.res.Type == "group" {
		t, _, err = o.api.GroupAccessTokens.RotateGroupAccessTokenSelf(o.pid(),
			&gl.RotateGroupAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
	} else {
		var p *gl.ProjectAccessToken
		p, _, err = o.api.ProjectAccessTokens.RotateProjectAccessTokenSelf(o.pid(),
			&gl.RotateProjectAccessTokenOptions{ExpiresAt: isoDate(expires)}, gl.WithContext(ctx))
		t = (*gl.GroupAccessToken)(p)
	}
	if err != nil {
		return gitlab.Token{}, secret.Secret{}, fmt.Errorf("self-rotate token in %s %s: %w", o.res.Type, o.res.Path, err)
	}
	return fromAPI(t, o.res), secret.New(t.Token), nil
}

// revoke revokes id; a token that is already gone counts as revoked.
func (o tokenOps) revoke(ctx context.Context, id int64) (alreadyGone bool, err error) {
	if o.res.Type == "group" {
		_, err = o.api.GroupAccessTokens.RevokeGroupAccessToken(o.pid(), id, gl.WithContext(ctx))
	} else {
		_, err = o.api.ProjectAccessTokens.RevokeProjectAccessToken(o.pid(), id, gl.WithContext(ctx))
	}
	if isStatus(err, http.StatusNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("revoke token %d in %s %s: %w", id, o.res.Type, o.res.Path, err)
	}
	return false, nil
}

// isStatus reports whether GitLab answered err with code. client-go turns
// every 404 into the sentinel gl.ErrNotFound rather than an ErrorResponse.
func isStatus(err error, code int) bool {
	if code == http.StatusNotFound && errors.Is(err, gl.ErrNotFound) {
		return true
	}
	var er *gl.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// verify calls method path (relative to /api/v4) authenticated as the new token.
func verify(ctx context.Context, api *gl.Client, method, path string) error {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "/"), "api/v4/")
	req, err := api.NewRequest(method, path, nil, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return err
	}
	resp, err := api.Do(req, nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%s /api/v4/%s answered %d: %w", method, path, resp.StatusCode, err)
		}
		return fmt.Errorf("%s /api/v4/%s: %w", method, path, err)
	}
	return nil
}
