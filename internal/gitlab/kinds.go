package gitlab

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// The credentials beyond group and project access tokens (issue 12;
// docs/gitlab-api.md, "Deploy tokens, pipeline trigger tokens, runners"):
// deploy tokens, pipeline trigger tokens, runner tokens, every user's and
// service account's personal access tokens, and GitLab.com's group
// credentials inventory. Each comes back as a Token of its Kind; none holds
// a secret, not even a trigger token's (which GitLab shows its owner).

// ProjectDeployTokens lists p's deploy tokens.
func (c *Client) ProjectDeployTokens(ctx context.Context, p Project) ([]Token, error) {
	return c.deployTokens(ctx, Resource{Type: "project", ID: p.ID, Path: p.Path})
}

// GroupDeployTokens lists g's deploy tokens.
func (c *Client) GroupDeployTokens(ctx context.Context, g Group) ([]Token, error) {
	return c.deployTokens(ctx, Resource{Type: "group", ID: g.ID, Path: g.Path})
}

func (c *Client) deployTokens(ctx context.Context, res Resource) ([]Token, error) {
	path, err := resourcePath(res, "/deploy_tokens")
	if err != nil {
		return nil, err
	}
	ts, err := listAll(ctx, c, func(page int64) ([]*gl.DeployToken, *gl.Response, error) {
		var list []*gl.DeployToken
		resp, err := c.send(ctx, http.MethodGet, path, &gl.ListOptions{Page: page, PerPage: perPage}, &list)
		return list, resp, err
	})
	if err != nil {
		return nil, c.classify(err, target{kind: res.Type, path: res.Path, tokens: true})
	}
	return mapAll(ts, func(d *gl.DeployToken) Token { return deployToken(d, res) }), nil
}

func deployToken(d *gl.DeployToken, res Resource) Token {
	t := Token{ID: d.ID, Name: d.Name, Username: d.Username, Scopes: d.Scopes, Revoked: d.Revoked,
		Resource: res, Kind: KindDeployToken, UsageUnknown: true}
	if d.ExpiresAt != nil {
		e := d.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	t.Active = !d.Revoked && !d.Expired
	return t
}

// ProjectTriggerTokens lists p's pipeline trigger tokens.
func (c *Client) ProjectTriggerTokens(ctx context.Context, p Project) ([]Token, error) {
	res := Resource{Type: "project", ID: p.ID, Path: p.Path}
	path, _ := resourcePath(res, "/triggers")
	ts, err := listAll(ctx, c, func(page int64) ([]*triggerJSON, *gl.Response, error) {
		var list []*triggerJSON
		resp, err := c.send(ctx, http.MethodGet, path, &gl.ListOptions{Page: page, PerPage: perPage}, &list)
		return list, resp, err
	})
	if err != nil {
		return nil, c.classify(err, target{kind: res.Type, path: res.Path, tokens: true})
	}
	return mapAll(ts, func(tr *triggerJSON) Token { return tr.token(res) }), nil
}

// triggerJSON is GitLab's trigger entity without its token: the secret is
// never decoded.
type triggerJSON struct {
	ID          int64      `json:"id"`
	Description string     `json:"description"`
	CreatedAt   *time.Time `json:"created_at"`
	LastUsed    *time.Time `json:"last_used"`
	ExpiresAt   *time.Time `json:"expires_at"`
	Owner       *struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	} `json:"owner"`
}

func (tr *triggerJSON) token(res Resource) Token {
	t := Token{ID: tr.ID, Name: tr.Description, Resource: res, Kind: KindTriggerToken, Active: true}
	if tr.CreatedAt != nil {
		t.CreatedAt = tr.CreatedAt.UTC()
	}
	if tr.LastUsed != nil {
		l := tr.LastUsed.UTC()
		t.LastUsedAt = &l
	}
	if tr.ExpiresAt != nil {
		e := tr.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	if tr.Owner != nil {
		t.UserID, t.Owner = tr.Owner.ID, tr.Owner.Username
	}
	return t
}

// runnerJSON is GitLab's runner list entity. It carries neither the token
// nor its expiry; contacted_at (details only) is the token's last use.
type runnerJSON struct {
	ID          int64      `json:"id"`
	Description string     `json:"description"`
	Paused      bool       `json:"paused"`
	RunnerType  string     `json:"runner_type"`
	CreatedAt   *time.Time `json:"created_at"`
	Status      string     `json:"status"`
}

// Runners lists runner tokens: every runner for an administrator
// (GET /runners/all), else the runners registered to g itself
// (GET /groups/:id/runners?type=group_type). A runner token's expiry is not
// in GitLab's API (ExpiryUnknown); its last use is the runner's last contact.
func (c *Client) Runners(ctx context.Context, g *Group, p *Project) ([]Token, error) {
	path, res, opt := "runners/all", Resource{Type: "instance", Path: "(instance)"}, url2{}
	switch {
	case g != nil:
		res = Resource{Type: "group", ID: g.ID, Path: g.Path}
		path, _ = resourcePath(res, "/runners")
		opt.Type = "group_type"
	case p != nil:
		res = Resource{Type: "project", ID: p.ID, Path: p.Path}
		path, _ = resourcePath(res, "/runners")
		opt.Type = "project_type"
	}
	rs, err := listAll(ctx, c, func(page int64) ([]*runnerJSON, *gl.Response, error) {
		var list []*runnerJSON
		o := opt
		o.Page, o.PerPage = page, perPage
		resp, err := c.send(ctx, http.MethodGet, path, &o, &list)
		return list, resp, err
	})
	if err != nil {
		return nil, c.classify(err, target{kind: res.Type, path: res.Path, tokens: true})
	}
	out := make([]Token, 0, len(rs))
	for _, r := range rs {
		t := Token{ID: r.ID, Name: r.Description, Resource: res, Kind: KindRunnerToken, Active: !r.Paused, ExpiryUnknown: true, UsageUnknown: true}
		if r.CreatedAt != nil {
			t.CreatedAt = r.CreatedAt.UTC()
		}
		if r.Status == "never_contacted" {
			t.UsageUnknown = false // never used: LastUsedAt nil is true
		}
		out = append(out, t)
	}
	return out, nil
}

type url2 struct {
	Type    string `url:"type,omitempty"`
	Page    int64  `url:"page,omitempty"`
	PerPage int64  `url:"per_page,omitempty"`
}

// AllPersonalAccessTokens is an administrator's GET /personal_access_tokens:
// every user's personal access tokens in one paginated stream, service
// accounts' tagged KindServiceAccountToken. Tokens of group and project bots
// (the access tokens, listed per resource) are left out. users maps user ids
// to users (from Users); serviceAccounts holds the service accounts' ids.
func (c *Client) AllPersonalAccessTokens(ctx context.Context, users map[int64]User, serviceAccounts map[int64]bool) ([]Token, error) {
	opt := &gl.ListPersonalAccessTokensOptions{}
	ts, err := listAll(ctx, c, func(page int64) ([]*gl.PersonalAccessToken, *gl.Response, error) {
		opt.ListOptions = gl.ListOptions{Page: page, PerPage: perPage}
		return c.api.PersonalAccessTokens.ListPersonalAccessTokens(opt, gl.WithContext(ctx))
	})
	if err != nil {
		return nil, c.classify(err, target{kind: "instance", path: "personal access tokens", tokens: true})
	}
	out := make([]Token, 0, len(ts))
	for _, t := range ts {
		u, ok := users[t.UserID]
		sa := serviceAccounts[t.UserID]
		if ok && u.Bot && !sa {
			continue
		}
		name := u.Username
		if !ok {
			name = "user-" + strconv.FormatInt(t.UserID, 10)
		}
		tok := toToken(*t, 0, Resource{Type: "user", ID: t.UserID, Path: name})
		tok.Kind = KindPersonalAccessToken
		if sa {
			tok.Kind = KindServiceAccountToken
		}
		out = append(out, tok)
	}
	return out, nil
}

// Users lists every user (an administrator sees them all), by id.
func (c *Client) Users(ctx context.Context) (map[int64]User, error) {
	us, err := listAll(ctx, c, func(page int64) ([]*gl.User, *gl.Response, error) {
		return c.api.Users.ListUsers(&gl.ListUsersOptions{ListOptions: gl.ListOptions{Page: page, PerPage: perPage}}, gl.WithContext(ctx))
	})
	if err != nil {
		return nil, c.classify(err, target{kind: "instance", path: "users"})
	}
	out := make(map[int64]User, len(us))
	for _, u := range us {
		out[u.ID] = User{ID: u.ID, Username: u.Username, Admin: u.IsAdmin, Bot: u.Bot}
	}
	return out, nil
}

// ServiceAccounts lists the instance's service accounts' ids (administrator).
func (c *Client) ServiceAccounts(ctx context.Context) (map[int64]bool, error) {
	type sa struct {
		ID int64 `json:"id"`
	}
	list, err := listAll(ctx, c, func(page int64) ([]sa, *gl.Response, error) {
		var l []sa
		resp, err := c.send(ctx, http.MethodGet, "service_accounts", &gl.ListOptions{Page: page, PerPage: perPage}, &l)
		return l, resp, err
	})
	if err != nil {
		return nil, c.classify(err, target{kind: "instance", path: "service accounts"})
	}
	out := make(map[int64]bool, len(list))
	for _, s := range list {
		out[s.ID] = true
	}
	return out, nil
}

// ErrNoInventory: the instance has no group credentials inventory (every
// self-managed instance: it is GitLab.com only) or the caller may not read it.
var ErrNoInventory = errors.New("no group credentials inventory")

// ManagedResourceTokens reads GitLab.com's group credentials inventory of
// top-level group g: every group and project access token below it in one
// paginated stream, keyed by resource type and id (without paths).
// ErrNoInventory when GitLab answers 404 or 403.
func (c *Client) ManagedResourceTokens(ctx context.Context, g Group) ([]Token, error) {
	path, _ := resourcePath(Resource{Type: "group", ID: g.ID, Path: g.Path}, "/manage/resource_access_tokens")
	ts, err := listAll(ctx, c, func(page int64) ([]*managedToken, *gl.Response, error) {
		var list []*managedToken
		resp, err := c.send(ctx, http.MethodGet, path, &gl.ListOptions{Page: page, PerPage: perPage}, &list)
		return list, resp, err
	})
	if err != nil {
		var er *gl.ErrorResponse
		if errors.Is(err, gl.ErrNotFound) || (errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden) {
			return nil, ErrNoInventory
		}
		return nil, c.classify(err, target{kind: "group", path: g.Path, tokens: true})
	}
	return mapAll(ts, func(t *managedToken) Token {
		return toToken(t.PersonalAccessToken, int(t.AccessLevel), Resource{Type: t.ResourceType, ID: t.ResourceID})
	}), nil
}

type managedToken struct {
	gl.PersonalAccessToken
	AccessLevel  int64  `json:"access_level"`
	ResourceType string `json:"resource_type"`
	ResourceID   int64  `json:"resource_id"`
}

// RevokeCredential revokes t with the call for its kind. Deploy and trigger
// tokens are deleted (GitLab's API has no revoke for them); a runner token is
// reset, which kills it at once — the new token is dropped unread, so the
// runner stops until someone registers it again or resets and delivers a
// token. alreadyGone: GitLab answered 404.
func (c *Client) RevokeCredential(ctx context.Context, t Token) (alreadyGone bool, err error) {
	id := strconv.FormatInt(t.ID, 10)
	var method, path string
	switch t.TokenKind() {
	case KindGroupAccessToken, KindProjectAccessToken:
		return c.RevokeToken(ctx, t.Resource, t.ID)
	case KindPersonalAccessToken, KindServiceAccountToken:
		return c.RevokeToken(ctx, Resource{Type: "user", ID: t.UserID, Path: t.Resource.Path}, t.ID)
	case KindDeployToken:
		method = http.MethodDelete
		if path, err = resourcePath(t.Resource, "/deploy_tokens/"+id); err != nil {
			return false, err
		}
	case KindTriggerToken:
		method = http.MethodDelete
		if path, err = resourcePath(t.Resource, "/triggers/"+id); err != nil {
			return false, err
		}
	case KindRunnerToken:
		method, path = http.MethodPost, "runners/"+id+"/reset_authentication_token"
	default:
		return false, invalid("cannot revoke a %q", t.TokenKind())
	}
	// a runner reset's answer (the new token) is not decoded
	return c.sendGone(ctx, method, path, "revoke %s %d of %s %s", t.TokenKind(), t.ID, t.Resource.Type, t.Resource.Path)
}

// DeployTokens lists res's deploy tokens (a group or project), in every
// state GitLab lists them.
func (c *Client) DeployTokens(ctx context.Context, res Resource) ([]Token, error) {
	return c.deployTokens(ctx, res)
}

// DeployToken reads one deploy token of res.
func (c *Client) DeployToken(ctx context.Context, res Resource, id int64) (Token, error) {
	path, err := resourcePath(res, "/deploy_tokens/"+strconv.FormatInt(id, 10))
	if err != nil {
		return Token{}, err
	}
	var d gl.DeployToken
	if _, err := c.send(ctx, http.MethodGet, path, nil, &d); err != nil {
		return Token{}, c.fail(err, "read deploy token %d of %s %s", id, res.Type, res.Path)
	}
	return deployToken(&d, res), nil
}

// DeploySpec is what a new deploy token gets.
type DeploySpec struct {
	Name     string
	Username string // "" → GitLab's gitlab+deploy-token-N
	Scopes   []string
	// ExpiresAt is sent as a date (midnight UTC), like access tokens'.
	ExpiresAt time.Time
}

// CreateDeployToken creates a deploy token in res. Its secret is in this
// answer only.
func (c *Client) CreateDeployToken(ctx context.Context, res Resource, s DeploySpec) (Token, secret.Secret, error) {
	path, err := resourcePath(res, "/deploy_tokens")
	if err != nil {
		return Token{}, secret.Secret{}, err
	}
	exp := time.Date(s.ExpiresAt.Year(), s.ExpiresAt.Month(), s.ExpiresAt.Day(), 0, 0, 0, 0, time.UTC)
	opt := &gl.CreateProjectDeployTokenOptions{Name: &s.Name, Scopes: &s.Scopes, ExpiresAt: &exp}
	if s.Username != "" {
		opt.Username = &s.Username
	}
	var d gl.DeployToken
	if _, err := c.send(ctx, http.MethodPost, path, opt, &d); err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "create deploy token %q in %s %s", s.Name, res.Type, res.Path)
	}
	return deployToken(&d, res), secret.New(d.Token), nil
}
