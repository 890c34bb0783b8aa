package gitlab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// The calls that mint and pin down the managed kinds beyond access tokens
// (issue 12, item 4): pipeline trigger tokens (docs/gitlab-api.md, "Pipeline
// trigger tokens"; lib/api/ci/triggers.rb) and service accounts' personal
// access tokens ("Service accounts"; ee/lib/api/group_service_accounts.rb,
// lib/api/users.rb, lib/api/personal_access_tokens.rb). Like the others,
// create and rotate are sent once: the client never retries a POST.

// TriggerTokens lists res's (a project's) pipeline trigger tokens, id
// ascending as GitLab lists them.
func (c *Client) TriggerTokens(ctx context.Context, res Resource) ([]Token, error) {
	return c.ProjectTriggerTokens(ctx, Project{ID: res.ID, Path: res.Path})
}

// triggerWithToken is GitLab's trigger entity with its token, which it
// shows in full to the token's owner only (Ci::TriggerPresenter).
type triggerWithToken struct {
	triggerJSON
	Token string `json:"token"`
}

// TriggerToken reads trigger token id of res and its secret as GitLab shows
// it to the caller: in full when the caller owns the token, else cut to
// four characters (full false).
func (c *Client) TriggerToken(ctx context.Context, res Resource, id int64) (t Token, sec secret.Secret, full bool, err error) {
	path, err := resourcePath(res, "/triggers/"+strconv.FormatInt(id, 10))
	if err != nil {
		return Token{}, secret.Secret{}, false, err
	}
	var tr triggerWithToken
	if _, err := c.send(ctx, http.MethodGet, path, nil, &tr); err != nil {
		return Token{}, secret.Secret{}, false, c.fail(err, "read trigger token %d of %s %s", id, res.Type, res.Path)
	}
	return tr.token(res), secret.New(tr.Token), len(tr.Token) > len("glptt-")+4, nil
}

// CreateTriggerToken creates a pipeline trigger token of res (a project)
// owned by the caller, expiring at the day of expires (GitLab takes a
// DateTime; 00:00 UTC is sent, like access tokens' dates).
func (c *Client) CreateTriggerToken(ctx context.Context, res Resource, description string, expires time.Time) (Token, secret.Secret, error) {
	path, err := resourcePath(res, "/triggers")
	if err != nil {
		return Token{}, secret.Secret{}, err
	}
	opt := struct {
		Description string    `url:"description" json:"description"`
		ExpiresAt   time.Time `url:"expires_at" json:"expires_at"`
	}{description, time.Date(expires.Year(), expires.Month(), expires.Day(), 0, 0, 0, 0, time.UTC)}
	var tr triggerWithToken
	if _, err := c.send(ctx, http.MethodPost, path, &opt, &tr); err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "create trigger token %q in %s %s", description, res.Type, res.Path)
	}
	return tr.token(res), secret.New(tr.Token), nil
}

// ServiceAccount is a service account whose personal access tokens
// tokenwarden manages: one provisioned by top-level group Group (its Owner
// manages the tokens through …/groups/:id/service_accounts/…), or an
// instance one (Group.ID 0: an administrator's calls).
type ServiceAccount struct {
	Group    Resource
	ID       int64
	Username string
}

// Resource is the token owner as scan's rows name it: the user.
func (sa ServiceAccount) Resource() Resource {
	return Resource{Type: "user", ID: sa.ID, Path: sa.Username}
}

func (sa ServiceAccount) groupPath(rest string) (string, error) {
	return resourcePath(sa.Group, "/service_accounts/"+strconv.FormatInt(sa.ID, 10)+"/personal_access_tokens"+rest)
}

func (sa ServiceAccount) where() string {
	if sa.Group.ID != 0 {
		return "service account " + sa.Username + " of group " + sa.Group.Path
	}
	return "instance service account " + sa.Username
}

// FindServiceAccount looks service account username up among those group
// provisioned (GET /groups/:id/service_accounts: the group's Owner or an
// administrator), or, with a zero group, among the instance's
// (GET /service_accounts: administrators). A user that is not one is an
// invalid-request error.
func (c *Client) FindServiceAccount(ctx context.Context, group Resource, username string) (ServiceAccount, error) {
	type sa struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	path, where := "service_accounts", "the instance's service accounts"
	if group.ID != 0 {
		var err error
		if path, err = resourcePath(group, "/service_accounts"); err != nil {
			return ServiceAccount{}, err
		}
		where = "the service accounts of group " + group.Path
	}
	list, err := listAll(ctx, c, func(page int64) ([]sa, *gl.Response, error) {
		var l []sa
		resp, err := c.send(ctx, http.MethodGet, path, &gl.ListOptions{Page: page, PerPage: perPage}, &l)
		return l, resp, err
	})
	if err != nil {
		return ServiceAccount{}, c.fail(err, "list %s", where)
	}
	for _, s := range list {
		if s.Username == username {
			return ServiceAccount{Group: group, ID: s.ID, Username: s.Username}, nil
		}
	}
	msg := fmt.Sprintf("%s has no service account %q", where, username)
	return ServiceAccount{}, &Error{Kind: ErrNoServiceAccount, Message: msg, Reason: msg}
}

// ErrNoServiceAccount: the group (or instance) has no service account of
// that username.
var ErrNoServiceAccount = errors.New("no such service account")

// ServiceAccountTokens lists sa's personal access tokens in every state, id
// ascending: GET /groups/:id/service_accounts/:user_id/personal_access_tokens
// for a group's, GET /personal_access_tokens?user_id= for an instance one.
func (c *Client) ServiceAccountTokens(ctx context.Context, sa ServiceAccount) ([]Token, error) {
	var ts []*gl.PersonalAccessToken
	var err error
	if sa.Group.ID != 0 {
		path, perr := sa.groupPath("")
		if perr != nil {
			return nil, perr
		}
		ts, err = listAll(ctx, c, func(page int64) ([]*gl.PersonalAccessToken, *gl.Response, error) {
			var l []*gl.PersonalAccessToken
			resp, err := c.send(ctx, http.MethodGet, path, &gl.ListOptions{Page: page, PerPage: perPage}, &l)
			return l, resp, err
		})
	} else {
		opt := &gl.ListPersonalAccessTokensOptions{UserID: &sa.ID}
		ts, err = listAll(ctx, c, func(page int64) ([]*gl.PersonalAccessToken, *gl.Response, error) {
			opt.ListOptions = gl.ListOptions{Page: page, PerPage: perPage}
			return c.api.PersonalAccessTokens.ListPersonalAccessTokens(opt, gl.WithContext(ctx))
		})
	}
	if err != nil {
		return nil, c.fail(err, "list the tokens of %s", sa.where())
	}
	out := mapAll(ts, func(t *gl.PersonalAccessToken) Token { return saToken(t, sa) })
	sortByID(out)
	return out, nil
}

func saToken(t *gl.PersonalAccessToken, sa ServiceAccount) Token {
	tok := toToken(*t, 0, sa.Resource())
	tok.Kind, tok.UserID = KindServiceAccountToken, sa.ID
	return tok
}

// CreateServiceAccountToken creates a personal access token for sa
// (s.AccessLevel is not used): POST …/service_accounts/:user_id/personal_access_tokens,
// or for an instance account the administrator's POST /users/:id/personal_access_tokens.
func (c *Client) CreateServiceAccountToken(ctx context.Context, sa ServiceAccount, s MintSpec) (Token, secret.Secret, error) {
	path := "users/" + strconv.FormatInt(sa.ID, 10) + "/personal_access_tokens"
	if sa.Group.ID != 0 {
		var err error
		if path, err = sa.groupPath(""); err != nil {
			return Token{}, secret.Secret{}, err
		}
	}
	opt := &gl.CreatePersonalAccessTokenOptions{Name: &s.Name, Description: &s.Description, Scopes: &s.Scopes, ExpiresAt: isoDate(s.ExpiresAt)}
	var t gl.PersonalAccessToken
	if _, err := c.send(ctx, http.MethodPost, path, opt, &t); err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "create token %q of %s", s.Name, sa.where())
	}
	return saToken(&t, sa), secret.New(t.Token), nil
}

// RotateServiceAccountToken rotates sa's token id: GitLab revokes it and
// answers its successor (same name, scopes and user).
// POST …/service_accounts/:user_id/personal_access_tokens/:id/rotate, or
// POST /personal_access_tokens/:id/rotate for an instance account.
func (c *Client) RotateServiceAccountToken(ctx context.Context, sa ServiceAccount, id int64, expires time.Time) (Token, secret.Secret, error) {
	rest := "/" + strconv.FormatInt(id, 10) + "/rotate"
	path := "personal_access_tokens" + rest
	if sa.Group.ID != 0 {
		var err error
		if path, err = sa.groupPath(rest); err != nil {
			return Token{}, secret.Secret{}, err
		}
	}
	var t gl.PersonalAccessToken
	if _, err := c.send(ctx, http.MethodPost, path, &gl.RotatePersonalAccessTokenOptions{ExpiresAt: isoDate(expires)}, &t); err != nil {
		return Token{}, secret.Secret{}, c.fail(err, "rotate token %d of %s", id, sa.where())
	}
	return saToken(&t, sa), secret.New(t.Token), nil
}

// RevokeServiceAccountToken revokes sa's token id; alreadyGone: GitLab
// answered 404.
func (c *Client) RevokeServiceAccountToken(ctx context.Context, sa ServiceAccount, id int64) (alreadyGone bool, err error) {
	if sa.Group.ID == 0 {
		return c.RevokeToken(ctx, sa.Resource(), id)
	}
	path, err := sa.groupPath("/" + strconv.FormatInt(id, 10))
	if err != nil {
		return false, err
	}
	return c.deleteGone(ctx, path, "revoke token %d of %s", id, sa.where())
}

// sortByID orders ts by id, oldest first.
func sortByID(ts []Token) {
	slices.SortFunc(ts, func(a, b Token) int { return cmp.Compare(a.ID, b.ID) })
}
