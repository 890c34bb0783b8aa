package inventory

import (
	"context"
	"slices"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// lister lists one kind of a resource's credentials.
type lister = func(context.Context) ([]gitlab.Token, error)

// all lists every kind in turn; the first error stops it.
func all(calls []lister) lister {
	if len(calls) == 1 {
		return calls[0]
	}
	return func(ctx context.Context) ([]gitlab.Token, error) {
		var out []gitlab.Token
		for _, call := range calls {
			toks, err := call(ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, toks...)
		}
		return out, nil
	}
}

// resourceListers are the calls that list each kind of token of one group
// or project; trigger is nil for a group, which has no trigger tokens.
type resourceListers struct {
	access, deploy, trigger, runners lister
}

// wanted picks of l the calls for the kinds a scan lists, in this order:
// the access tokens (of kind accessKind) from managed where the credentials
// inventory answered, else listed; the deploy tokens; the trigger tokens;
// the runners, unless the caller is an administrator, who lists every
// runner of the instance at once instead.
func (l resourceListers) wanted(res gitlab.Resource, accessKind string, kinds map[string]bool, managed managedTokens, admin bool) []lister {
	var calls []lister
	switch {
	case kinds[accessKind] && managed != nil:
		calls = append(calls, managed.of(res))
	case kinds[accessKind]:
		calls = append(calls, l.access)
	}
	if kinds[gitlab.KindDeployToken] {
		calls = append(calls, l.deploy)
	}
	if kinds[gitlab.KindTriggerToken] && l.trigger != nil {
		calls = append(calls, l.trigger)
	}
	if kinds[gitlab.KindRunnerToken] && !admin {
		calls = append(calls, l.runners)
	}
	return calls
}

// kindSet is the kinds a scan lists.
func kindSet(opts Options) map[string]bool {
	set := map[string]bool{}
	if len(opts.Kinds) == 0 {
		set[gitlab.KindGroupAccessToken], set[gitlab.KindProjectAccessToken] = true, true
		if opts.Personal {
			set[gitlab.KindPersonalAccessToken] = true
		}
		return set
	}
	for _, k := range opts.Kinds {
		set[k] = true
	}
	if opts.Personal {
		set[gitlab.KindPersonalAccessToken] = true
	}
	return set
}

// everyUser: an administrator asked for personal or service account tokens
// by kind, which covers every user's; --personal alone means the caller's.
func everyUser(opts Options, me gitlab.User) bool {
	return me.Admin && (slices.Contains(opts.Kinds, gitlab.KindPersonalAccessToken) || slices.Contains(opts.Kinds, gitlab.KindServiceAccountToken))
}

func kindOrder(t gitlab.Token) int { return slices.Index(gitlab.Kinds, t.TokenKind()) }

// managedTokens are the access tokens read from the credentials inventory,
// by resource.
type managedTokens map[gitlab.Resource][]gitlab.Token

func (m managedTokens) of(res gitlab.Resource) lister {
	toks := m[gitlab.Resource{Type: res.Type, ID: res.ID}]
	return func(context.Context) ([]gitlab.Token, error) {
		out := make([]gitlab.Token, len(toks))
		for i, t := range toks {
			t.Resource = res
			out[i] = t
		}
		return out, nil
	}
}

// managed reads the credentials inventory of every top-level group of the
// scan, or returns nil (list per resource) when it is off, not wanted, or
// does not answer for one of them — then the scan lists per resource, as
// without it.
func (w *walk) managed(ctx context.Context, opts Options, kinds map[string]bool, groups []gitlab.Group) managedTokens {
	if !opts.CredentialsInventory || !(kinds[gitlab.KindGroupAccessToken] || kinds[gitlab.KindProjectAccessToken]) {
		return nil
	}
	byID := map[int64]bool{}
	for _, g := range groups {
		byID[g.ID] = true
	}
	m := managedTokens{}
	for _, g := range groups {
		if byID[g.ParentID] {
			continue // below another scanned group
		}
		if g.ParentID != 0 {
			return nil // a subgroup root: the inventory is per top-level group
		}
		toks, err := w.c.ManagedResourceTokens(ctx, g)
		if err != nil {
			// ErrNoInventory (self-managed) or a failure: list per
			// resource, which reports what fails there.
			return nil
		}
		for _, t := range toks {
			k := gitlab.Resource{Type: t.Resource.Type, ID: t.Resource.ID}
			m[k] = append(m[k], t)
		}
		w.rep.Inventoried++
	}
	return m
}
