package gitlab

import (
	"context"
	"errors"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// perPage is GitLab's maximum page size: fewer pages, fewer calls.
const perPage = 100

// User is the caller (or another user) as far as tokenwarden cares.
type User struct {
	ID       int64
	Username string
	Admin    bool
	Bot      bool
}

// Group is a group with its full path.
type Group struct {
	ID         int64
	Path       string // full path, e.g. platform/infra
	ParentID   int64  // 0 for a top-level group
	Visibility string // "private", "internal" or "public"
}

// Project is a project with its full path.
type Project struct {
	ID          int64
	Path        string // path_with_namespace
	NamespaceID int64
	Visibility  string // "private", "internal" or "public"; "" in listings
	// Access is the caller's role there as the project's own answer tells
	// it (the higher of its project and group membership); 0 when it does
	// not say (listings, admins, non-members).
	Access int
}

// CurrentUser is the user the client's token belongs to. It is the cheapest
// way to learn whether the token works at all.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	u, err := getOne(ctx, c, func() (*gl.User, *gl.Response, error) {
		return c.api.Users.CurrentUser(gl.WithContext(ctx))
	})
	if err != nil {
		return User{}, c.classify(err, target{kind: "instance"})
	}
	return User{ID: u.ID, Username: u.Username, Admin: u.IsAdmin, Bot: u.Bot}, nil
}

// Group looks a group up by full path (or numeric id as a string).
func (c *Client) Group(ctx context.Context, path string) (Group, error) {
	g, err := getOne(ctx, c, func() (*gl.Group, *gl.Response, error) {
		//lint:ignore SA1019 with_projects=false keeps GitLab from embedding up to 100 projects in the answer; still honoured by API v4
		return c.api.Groups.GetGroup(path, &gl.GetGroupOptions{WithProjects: gl.Ptr(false)}, gl.WithContext(ctx))
	})
	if err != nil {
		return Group{}, c.classify(err, target{kind: "group", path: path})
	}
	return toGroup(g), nil
}

// Project looks a project up by full path (or numeric id as a string).
func (c *Client) Project(ctx context.Context, path string) (Project, error) {
	p, err := getOne(ctx, c, func() (*gl.Project, *gl.Response, error) {
		return c.api.Projects.GetProject(path, nil, gl.WithContext(ctx))
	})
	if err != nil {
		return Project{}, c.classify(err, target{kind: "project", path: path})
	}
	out := toProject(p)
	out.Visibility = string(p.Visibility)
	if p.Permissions != nil {
		if pa := p.Permissions.ProjectAccess; pa != nil {
			out.Access = int(pa.AccessLevel)
		}
		if ga := p.Permissions.GroupAccess; ga != nil {
			out.Access = max(out.Access, int(ga.AccessLevel))
		}
	}
	return out, nil
}

// Groups lists every group the caller can see, each once. minAccess, when
// non-zero, limits the list to groups where the caller has at least that
// role (admins see all groups regardless).
func (c *Client) Groups(ctx context.Context, minAccess int) ([]Group, error) {
	opt := &gl.ListGroupsOptions{}
	if minAccess > 0 {
		opt.MinAccessLevel = gl.Ptr(gl.AccessLevelValue(minAccess))
	}
	return listMapped(ctx, c, target{kind: "instance"}, &opt.ListOptions, toGroup, func() ([]*gl.Group, *gl.Response, error) {
		return c.api.Groups.ListGroups(opt, gl.WithContext(ctx))
	})
}

// DescendantGroups lists every group below g, at any depth.
func (c *Client) DescendantGroups(ctx context.Context, g Group) ([]Group, error) {
	opt := &gl.ListDescendantGroupsOptions{}
	return listMapped(ctx, c, target{kind: "group", path: g.Path}, &opt.ListOptions, toGroup, func() ([]*gl.Group, *gl.Response, error) {
		return c.api.Groups.ListDescendantGroups(g.ID, opt, gl.WithContext(ctx))
	})
}

// GroupProjects lists the projects of g and, with subgroups, of every group
// below it — one paginated stream for a whole tree.
func (c *Client) GroupProjects(ctx context.Context, g Group, subgroups bool) ([]Project, error) {
	opt := &gl.ListGroupProjectsOptions{IncludeSubGroups: gl.Ptr(subgroups), Simple: gl.Ptr(true)}
	return listMapped(ctx, c, target{kind: "group", path: g.Path}, &opt.ListOptions, toProject, func() ([]*gl.Project, *gl.Response, error) {
		return c.api.Groups.ListGroupProjects(g.ID, opt, gl.WithContext(ctx))
	})
}

// AllProjects lists every project the caller can see — for an administrator
// every project of the instance, personal ones included — with keyset
// pagination by id, which GitLab requires past 50,000 projects: about one
// call per 100 projects. When there is more than one page, it asks for the
// highest id and pages through parallel id ranges at once instead of one
// page after the other.
func (c *Client) AllProjects(ctx context.Context, parallel int) ([]Project, error) {
	first, more, err := c.projectRange(ctx, 0, 0, 1)
	if err != nil || !more {
		return first, err
	}
	top, err := getOne(ctx, c, func() (*[]*gl.Project, *gl.Response, error) {
		ps, resp, err := c.api.Projects.ListProjects(&gl.ListProjectsOptions{Simple: gl.Ptr(true),
			ListOptions: gl.ListOptions{OrderBy: "id", Sort: "desc", PerPage: 1}}, gl.WithContext(ctx))
		return &ps, resp, err
	})
	if err != nil {
		return nil, c.classify(err, target{kind: "instance"})
	}
	lo := first[len(first)-1].ID
	if len(*top) == 0 || (*top)[0].ID <= lo {
		return first, nil
	}
	hi := (*top)[0].ID
	k := int64(max(parallel, 1))
	if span := hi - lo; span < k*perPage {
		k = max(span/perPage, 1)
	}
	parts := make([][]Project, k)
	eg, ectx := errgroup.WithContext(ctx)
	for i := range k {
		after, before := lo+(hi-lo)*i/k, lo+(hi-lo)*(i+1)/k+1 // (after, before)
		eg.Go(func() (err error) {
			parts[i], _, err = c.projectRange(ectx, after, before, 0)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	for _, p := range parts {
		first = append(first, p...)
	}
	return first, nil
}

// projectRange pages through the projects with after < id < before (0: no
// bound), in id order, up to maxPages pages (0: all); more says whether
// there were more.
func (c *Client) projectRange(ctx context.Context, after, before int64, maxPages int) (all []Project, more bool, err error) {
	opt := &gl.ListProjectsOptions{Simple: gl.Ptr(true),
		ListOptions: gl.ListOptions{Pagination: "keyset", OrderBy: "id", Sort: "asc", PerPage: perPage}}
	if after > 0 {
		opt.IDAfter = gl.Ptr(after)
	}
	if before > 0 {
		opt.IDBefore = gl.Ptr(before)
	}
	next := ""
	for pages := 1; ; pages++ {
		var items []*gl.Project
		var link string
		err := c.retryThrottled(ctx, func() (*gl.Response, error) {
			opts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
			if next != "" {
				opts = append(opts, gl.WithKeysetPaginationParameters(next))
			}
			var resp *gl.Response
			var err error
			items, resp, err = c.api.Projects.ListProjects(opt, opts...)
			if resp != nil {
				link = resp.NextLink
			}
			return resp, err
		})
		if err != nil {
			return nil, false, c.classify(err, target{kind: "instance"})
		}
		all = append(all, mapAll(items, toProject)...)
		if next = link; next == "" || len(items) == 0 {
			return all, false, nil
		}
		if pages == maxPages {
			return all, true, nil
		}
	}
}

// GroupAccessTokens lists all of g's access tokens: active, expired and revoked.
func (c *Client) GroupAccessTokens(ctx context.Context, g Group) ([]Token, error) {
	return c.accessTokens(ctx, Resource{Type: "group", ID: g.ID, Path: g.Path})
}

// ProjectAccessTokens lists all of p's access tokens: active, expired and revoked.
func (c *Client) ProjectAccessTokens(ctx context.Context, p Project) ([]Token, error) {
	return c.accessTokens(ctx, Resource{Type: "project", ID: p.ID, Path: p.Path})
}

// AccessTokens lists all of res's access tokens: active, expired and revoked.
func (c *Client) AccessTokens(ctx context.Context, res Resource) ([]Token, error) {
	return c.accessTokens(ctx, res)
}

// accessTokens lists all of a group's or project's access tokens.
func (c *Client) accessTokens(ctx context.Context, res Resource) ([]Token, error) {
	path, err := resourcePath(res, "/access_tokens")
	if err != nil {
		return nil, err
	}
	var opts gl.ListOptions
	conv := func(t *gl.GroupAccessToken) Token { return resourceToken(t, res) }
	return listMapped(ctx, c, target{kind: res.Type, path: res.Path, tokens: true}, &opts, conv, func() ([]*gl.GroupAccessToken, *gl.Response, error) {
		var list []*gl.GroupAccessToken // a project access token has the same fields
		resp, err := c.send(ctx, http.MethodGet, path, &opts, &list)
		return list, resp, err
	})
}

// PersonalAccessTokens lists u's personal access tokens (for an admin caller
// the user filter matters: unfiltered, GitLab returns everyone's).
func (c *Client) PersonalAccessTokens(ctx context.Context, u User) ([]Token, error) {
	opt := &gl.ListPersonalAccessTokensOptions{UserID: gl.Ptr(u.ID)}
	res := Resource{Type: "user", ID: u.ID, Path: u.Username}
	conv := func(t *gl.PersonalAccessToken) Token { return toToken(*t, 0, res) }
	return listMapped(ctx, c, target{kind: "user", path: u.Username, tokens: true}, &opt.ListOptions, conv, func() ([]*gl.PersonalAccessToken, *gl.Response, error) {
		return c.api.PersonalAccessTokens.ListPersonalAccessTokens(opt, gl.WithContext(ctx))
	})
}

// listMapped is listAll of one GitLab list, list fetching the page that
// opts (the list's ListOptions, set here) names, with the items converted
// by conv and an error classified for where.
func listMapped[T, R any](ctx context.Context, c *Client, where target, opts *gl.ListOptions, conv func(T) R, list func() ([]T, *gl.Response, error)) ([]R, error) {
	items, err := listAll(ctx, c, func(page int64) ([]T, *gl.Response, error) {
		*opts = gl.ListOptions{Page: page, PerPage: perPage}
		return list()
	})
	if err != nil {
		return nil, c.classify(err, where)
	}
	return mapAll(items, conv), nil
}

// listAll follows offset pagination to the last page.
func listAll[T any](ctx context.Context, c *Client, page func(int64) ([]T, *gl.Response, error)) ([]T, error) {
	var all []T
	for p := int64(1); ; {
		var items []T
		var next int64
		err := c.retryThrottled(ctx, func() (*gl.Response, error) {
			var resp *gl.Response
			var err error
			items, resp, err = page(p)
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next <= p {
			return all, nil
		}
		p = next
	}
}

// DefaultThrottleRounds bounds retryThrottled (Config.ThrottleRounds): a
// read GitLab keeps refusing with 429 round after round (an endpoint's own
// limit, a proxy) fails as rate limited instead of holding the scan up for
// ever.
const DefaultThrottleRounds = 5

// retryThrottled repeats a read while GitLab answers 429 after client-go's
// own retries are spent: for reads, being throttled means "later", not
// "failed" — up to Config.ThrottleRounds rounds. Each round waits Retry-After
// (at most one rate-limit window).
// getOne is one GET through retryThrottled.
func getOne[T any](ctx context.Context, c *Client, get func() (*T, *gl.Response, error)) (*T, error) {
	var v *T
	err := c.retryThrottled(ctx, func() (*gl.Response, error) {
		var resp *gl.Response
		var err error
		v, resp, err = get()
		return resp, err
	})
	return v, err
}

func (c *Client) retryThrottled(ctx context.Context, do func() (*gl.Response, error)) error {
	for round := 1; ; round++ {
		_, err := do()
		var er *gl.ErrorResponse
		if err == nil || !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusTooManyRequests {
			return err
		}
		if round >= c.throttleRounds {
			return err
		}
		wait, ok := throttleWait(er.Response.Header, time.Now())
		if !ok {
			wait = time.Second
		}
		if sl, ok := c.clk.(clock.Sleeper); ok {
			sl.Sleep(wait) // a simulation's clock: no real wait
			continue
		}
		// Retry-After is wall-clock time, like retryablehttp's own waits.
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

func toGroup(g *gl.Group) Group {
	return Group{ID: g.ID, Path: g.FullPath, ParentID: g.ParentID, Visibility: string(g.Visibility)}
}

func toProject(p *gl.Project) Project {
	var ns int64
	if p.Namespace != nil {
		ns = p.Namespace.ID
	}
	return Project{ID: p.ID, Path: p.PathWithNamespace, NamespaceID: ns}
}

func toToken(t gl.PersonalAccessToken, level int, res Resource) Token {
	tok := Token{
		ID: t.ID, Name: t.Name, Description: t.Description, Scopes: t.Scopes,
		AccessLevel: level, LastUsedAt: t.LastUsedAt, Active: t.Active, Revoked: t.Revoked,
		UserID: t.UserID, Resource: res,
	}
	if t.CreatedAt != nil {
		tok.CreatedAt = t.CreatedAt.UTC()
	}
	if t.ExpiresAt != nil {
		e := time.Time(*t.ExpiresAt)
		e = time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
		tok.ExpiresAt = &e
	}
	if tok.LastUsedAt != nil {
		u := tok.LastUsedAt.UTC()
		tok.LastUsedAt = &u
	}
	return tok
}

func mapAll[A, B any](in []A, f func(A) B) []B {
	out := make([]B, 0, len(in))
	for _, a := range in {
		out = append(out, f(a))
	}
	return out
}
