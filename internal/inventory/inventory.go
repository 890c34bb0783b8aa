// Package inventory owns the scan walk: from the root groups it finds every
// group and project below them, lists each one's access tokens (and
// optionally the caller's personal tokens) concurrently, and reports what it
// found and what it could not read. It makes close to the minimum number of
// API calls: one list call per 100 groups, per 100 projects and per 100
// tokens of each group and project.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// DefaultConcurrency is how many list calls a scan keeps in flight. With
// 20 ms of latency per call, 16 makes a 40×10×2 instance about 12× faster
// than one call at a time (see BenchmarkScan); the RateLimit pacer keeps it
// under the instance's limit.
const DefaultConcurrency = 16

// Options say what to scan.
type Options struct {
	// Groups are full paths of the groups to walk (each with everything
	// below it). Empty: every group the token's user can see.
	Groups []string
	// Personal adds the calling user's personal access tokens (only the
	// caller's, even for an administrator; Kinds personal_access_token
	// lists every user's for one).
	Personal bool
	// Concurrency is the number of list calls in flight; 0 means DefaultConcurrency.
	Concurrency int
	// Variables also lists every group's and project's CI/CD variables
	// (one paginated call per resource, Concurrency in flight, after the
	// token lists) and keeps the ones holding GitLab tokens (see
	// VariableToken).
	Variables bool
	// Progress, when set, is called after each resource's tokens are listed
	// with how many of how many resources are done. Calls are serialised.
	Progress func(done, total int)
	// Tokens, when set, receives each resource's tokens (sorted by id) and
	// Report.Tokens stays empty: resources come in path order (groups and
	// projects together, the personal tokens last), each as soon as it and
	// every one before it are listed, so that a caller that streams its
	// output never holds more than a window of resources. Calls are
	// serialised; a resource without tokens is skipped.
	Tokens func(res gitlab.Resource, toks []gitlab.Token)
	// Kinds are the credential kinds to list (gitlab.Kind…). Empty: group
	// and project access tokens, and personal access tokens with Personal.
	// personal_access_token and service_account_token cover, for an
	// administrator, every user's tokens (one GET /personal_access_tokens
	// stream); for anyone else, their own.
	Kinds []string
	// CredentialsInventory reads each top-level group's group and project
	// access tokens from GitLab.com's credentials inventory (one stream per
	// top-level group) instead of one list per group and project. Where it
	// does not answer (self-managed), the scan lists per resource.
	CredentialsInventory bool
}

// Report is the result of a scan.
type Report struct {
	User     gitlab.User
	Groups   int            // groups scanned
	Projects int            // projects scanned
	Tokens   []gitlab.Token // every token found, by resource path then id (empty with Options.Tokens)
	Errors   []ResourceError
	Scanned  int // resources whose tokens were listed
	// Inventoried counts the top-level groups whose access tokens came from
	// the credentials inventory (Options.CredentialsInventory).
	Inventoried int

	// With Options.Variables: the variables holding tokens (and hidden
	// ones), by resource path and key; the resources whose variables could
	// not be listed (the caller's role is too low, …); how many resources'
	// variables were read and how many variables they had.
	Variables        []VariableToken
	VariableErrors   []ResourceError
	VariablesScanned int
	VariableCount    int
}

// ResourceError is a resource whose tokens (or children) could not be listed.
type ResourceError struct {
	Resource gitlab.Resource
	Err      error
}

func (e ResourceError) Error() string { return e.Err.Error() }

// Scan walks the instance. It fails as a whole only when nothing can be
// scanned (the token is rejected or lacks scope, a named group does not
// exist, GitLab is unreachable); a resource that fails alone is recorded in
// Report.Errors and the scan goes on.
func Scan(ctx context.Context, c *gitlab.Client, opts Options) (*Report, error) {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	me, err := c.CurrentUser(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{User: me}
	w := &walk{c: c, n: n, rep: rep}

	groups, projects, err := w.discover(ctx, opts.Groups)
	if err != nil {
		return nil, err
	}
	rep.Groups, rep.Projects = len(groups), len(projects)
	kinds := kindSet(opts)
	managed := w.managed(ctx, opts, kinds, groups)

	items := make([]item, 0, len(groups)+len(projects)+1)
	add := func(res gitlab.Resource, accessKind string, l resourceListers) {
		if calls := l.wanted(res, accessKind, kinds, managed, me.Admin); len(calls) > 0 {
			items = append(items, item{res, all(calls)})
		}
	}
	for _, g := range groups {
		add(gitlab.Resource{Type: "group", ID: g.ID, Path: g.Path}, gitlab.KindGroupAccessToken, resourceListers{
			access:  func(ctx context.Context) ([]gitlab.Token, error) { return c.GroupAccessTokens(ctx, g) },
			deploy:  func(ctx context.Context) ([]gitlab.Token, error) { return c.GroupDeployTokens(ctx, g) },
			runners: func(ctx context.Context) ([]gitlab.Token, error) { return c.Runners(ctx, &g, nil) },
		})
	}
	for _, p := range projects {
		add(gitlab.Resource{Type: "project", ID: p.ID, Path: p.Path}, gitlab.KindProjectAccessToken, resourceListers{
			access:  func(ctx context.Context) ([]gitlab.Token, error) { return c.ProjectAccessTokens(ctx, p) },
			deploy:  func(ctx context.Context) ([]gitlab.Token, error) { return c.ProjectDeployTokens(ctx, p) },
			trigger: func(ctx context.Context) ([]gitlab.Token, error) { return c.ProjectTriggerTokens(ctx, p) },
			runners: func(ctx context.Context) ([]gitlab.Token, error) { return c.Runners(ctx, nil, &p) },
		})
	}
	// Groups and projects in one path order, so that a group's tokens come
	// just before those of what is below it.
	sort.SliceStable(items, func(i, j int) bool { return items[i].res.Path < items[j].res.Path })
	if kinds[gitlab.KindRunnerToken] && me.Admin {
		items = append(items, item{gitlab.Resource{Type: "instance", Path: "(instance)"},
			func(ctx context.Context) ([]gitlab.Token, error) { return c.Runners(ctx, nil, nil) }})
	}
	if kinds[gitlab.KindPersonalAccessToken] || kinds[gitlab.KindServiceAccountToken] {
		res := gitlab.Resource{Type: "user", ID: me.ID, Path: me.Username}
		list := func(ctx context.Context) ([]gitlab.Token, error) { return c.PersonalAccessTokens(ctx, me) }
		if everyUser(opts, me) {
			res = gitlab.Resource{Type: "instance", Path: "(users)"}
			list = func(ctx context.Context) ([]gitlab.Token, error) {
				users, err := c.Users(ctx)
				if err != nil {
					return nil, err
				}
				sas, err := c.ServiceAccounts(ctx)
				if err != nil {
					sas = map[int64]bool{} // Free tier: no service accounts
				}
				return c.AllPersonalAccessTokens(ctx, users, sas)
			}
		}
		items = append(items, item{res, func(ctx context.Context) ([]gitlab.Token, error) {
			toks, err := list(ctx)
			out := toks[:0]
			for _, t := range toks {
				if kinds[t.TokenKind()] {
					out = append(out, t)
				}
			}
			return out, err
		}})
	}

	emit := opts.Tokens
	if emit == nil {
		emit = func(_ gitlab.Resource, toks []gitlab.Token) { rep.Tokens = append(rep.Tokens, toks...) }
	}
	if err := w.list(ctx, items, emit, opts.Progress); err != nil {
		return nil, err
	}
	if opts.Variables {
		if err := w.listVariables(ctx, groups, projects); err != nil {
			return nil, err
		}
	}
	if opts.Tokens == nil {
		sort.Slice(rep.Tokens, func(i, j int) bool {
			a, b := rep.Tokens[i], rep.Tokens[j]
			if a.Resource.Path != b.Resource.Path {
				return a.Resource.Path < b.Resource.Path
			}
			if ka, kb := kindOrder(a), kindOrder(b); ka != kb {
				return ka < kb
			}
			return a.ID < b.ID
		})
	}
	sort.Slice(rep.Errors, func(i, j int) bool { return rep.Errors[i].Resource.Path < rep.Errors[j].Resource.Path })
	sortVariables(rep.Variables)
	sort.Slice(rep.VariableErrors, func(i, j int) bool { return rep.VariableErrors[i].Resource.Path < rep.VariableErrors[j].Resource.Path })
	return rep, nil
}

// item is one resource whose tokens are to be listed.
type item struct {
	res  gitlab.Resource
	list func(context.Context) ([]gitlab.Token, error)
}

// list lists the items' tokens, w.n calls in flight, and hands each item's
// tokens (sorted by id) to emit in the items' order, as soon as they and
// those of every item before it are in. At most window items are listed
// ahead of the first one not yet emitted, so that what is held while a slow
// list call holds up the output stays bounded whatever the instance's size.
func (w *walk) list(ctx context.Context, items []item, emit func(gitlab.Resource, []gitlab.Token), progress func(done, total int)) error {
	window := 4 * w.n
	if window < 64 {
		window = 64
	}
	if progress != nil {
		progress(0, len(items))
	}
	var (
		results = make(map[int][]gitlab.Token, window) // listed, not yet emitted
		next    int                                    // first item not yet emitted
		done    int
		slots   = make(chan struct{}, window)
	)
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(w.n)
	finish := func(i int, toks []gitlab.Token, err error) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			w.rep.Errors = append(w.rep.Errors, ResourceError{Resource: items[i].res, Err: err})
		} else {
			w.rep.Scanned++
		}
		sort.Slice(toks, func(a, b int) bool {
			if ka, kb := kindOrder(toks[a]), kindOrder(toks[b]); ka != kb {
				return ka < kb
			}
			return toks[a].ID < toks[b].ID
		})
		if toks == nil {
			toks = []gitlab.Token{}
		}
		results[i] = toks
		done++
		if progress != nil {
			progress(done, len(items))
		}
		for toks, ok := results[next]; ok; toks, ok = results[next] {
			delete(results, next)
			if len(toks) > 0 {
				emit(items[next].res, toks)
			}
			next++
			<-slots
		}
		return nil
	}
dispatch:
	for i := range items {
		select {
		case slots <- struct{}{}:
		case <-ectx.Done():
			break dispatch
		}
		eg.Go(func() error {
			toks, err := items[i].list(ectx)
			return finish(i, toks, err)
		})
	}
	return eg.Wait()
}

type walk struct {
	c   *gitlab.Client
	n   int
	mu  sync.Mutex
	rep *Report
}

// fatal reports whether err means no other call can succeed either.
func fatal(err error) bool {
	return errors.Is(err, gitlab.ErrTokenRejected) || errors.Is(err, gitlab.ErrInsufficientScope) ||
		errors.Is(err, gitlab.ErrUnreachable) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)
}

// ErrNoAccess wraps the error of a scan in which every resource failed.
var ErrNoAccess = errors.New("no resource could be scanned")

// AllFailed reports whether the scan read nothing at all: there were
// errors and no resource's tokens could be listed. The caller should treat
// that as an error rather than as an empty inventory.
func (r *Report) AllFailed() bool {
	return len(r.Errors) > 0 && r.Scanned == 0
}

// FailureSummary is one error for a scan in which every resource failed:
// the first error, plus how many others there were.
func (r *Report) FailureSummary() error {
	if len(r.Errors) == 0 {
		return nil
	}
	first := r.Errors[0].Err
	if len(r.Errors) == 1 {
		return fmt.Errorf("%w: %w", ErrNoAccess, first)
	}
	return fmt.Errorf("%w: %w (and %d more like it)", ErrNoAccess, first, len(r.Errors)-1)
}
