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

// Options say what to scan.
// DefaultConcurrency is how many list calls a scan keeps in flight. With
// 20 ms of latency per call, 16 makes a 40×10×2 instance about 12× faster
// than one call at a time (see BenchmarkScan); the RateLimit pacer keeps it
// under the instance's limit.
const DefaultConcurrency = 16

type Options struct {
	// Groups are full paths of the groups to walk (each with everything
	// below it). Empty: every group the token's user can see.
	Groups []string
	// Personal adds the calling user's personal access tokens.
	Personal bool
	// Concurrency is the number of list calls in flight; 0 means DefaultConcurrency.
	Concurrency int
	// Progress, when set, is called after each resource's tokens are listed
	// with how many of how many resources are done. Calls are serialised.
	Progress func(done, total int)
}

// Report is the result of a scan.
type Report struct {
	User     gitlab.User
	Groups   int            // groups scanned
	Projects int            // projects scanned
	Tokens   []gitlab.Token // every token found, by resource path then id
	Errors   []ResourceError
	Scanned  int // resources whose tokens were listed
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

	total := len(groups) + len(projects)
	if opts.Personal {
		total++
	}
	var done int
	progress := func() {
		done++
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	if opts.Progress != nil {
		opts.Progress(0, total)
	}

	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(n)
	for _, g := range groups {
		eg.Go(func() error {
			toks, err := c.GroupAccessTokens(ectx, g)
			return w.collect(toks, err, gitlab.Resource{Type: "group", ID: g.ID, Path: g.Path}, progress)
		})
	}
	for _, p := range projects {
		eg.Go(func() error {
			toks, err := c.ProjectAccessTokens(ectx, p)
			return w.collect(toks, err, gitlab.Resource{Type: "project", ID: p.ID, Path: p.Path}, progress)
		})
	}
	if opts.Personal {
		eg.Go(func() error {
			toks, err := c.PersonalAccessTokens(ectx, me)
			return w.collect(toks, err, gitlab.Resource{Type: "user", ID: me.ID, Path: me.Username}, progress)
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(rep.Tokens, func(i, j int) bool {
		a, b := rep.Tokens[i], rep.Tokens[j]
		if a.Resource.Path != b.Resource.Path {
			return a.Resource.Path < b.Resource.Path
		}
		return a.ID < b.ID
	})
	sort.Slice(rep.Errors, func(i, j int) bool { return rep.Errors[i].Resource.Path < rep.Errors[j].Resource.Path })
	return rep, nil
}

type walk struct {
	c   *gitlab.Client
	n   int
	mu  sync.Mutex
	rep *Report
}

// collect records one resource's tokens or its error. Only a cancelled
// context stops the scan; anything else is that resource's problem.
func (w *walk) collect(toks []gitlab.Token, err error, res gitlab.Resource, progress func()) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		w.rep.Errors = append(w.rep.Errors, ResourceError{Resource: res, Err: err})
	} else {
		w.rep.Scanned++
	}
	w.rep.Tokens = append(w.rep.Tokens, toks...)
	progress()
	return nil
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
