package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
)

// variableKey names a CI/CD variable: resource, key, environment scope.
type variableKey struct{ typ, path, key, scope string }

func keyOfVariable(v inventory.VariableToken) variableKey {
	return variableKey{v.Resource.Type, strings.ToLower(v.Resource.Path), v.Key, scopeOrAll(v.Scope)}
}

func scopeOrAll(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// sinkVariables are the CI/CD variables t delivers to.
func sinkVariables(t config.Token) map[variableKey]bool {
	out := map[variableKey]bool{}
	for _, s := range t.Deliver {
		g, ok := s.Settings.(*gitlabvar.Config)
		if !ok {
			continue
		}
		k := variableKey{"project", strings.ToLower(g.Project), g.Key, scopeOrAll(g.EnvironmentScope)}
		if g.Group != "" {
			k.typ, k.path = "group", strings.ToLower(g.Group)
		}
		out[k] = true
	}
	return out
}

// variableRoots are the top-level groups of the config's tokens and sinks:
// where their secrets may sit in variables.
func variableRoots(cfg *config.Config) []string {
	seen := map[string]bool{}
	var out []string
	add := func(path string) {
		top := strings.ToLower(strings.SplitN(path, "/", 2)[0])
		if top != "" && !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
	}
	for _, t := range cfg.Tokens {
		add(t.ResourcePath())
		for _, s := range t.Deliver {
			if g, ok := s.Settings.(*gitlabvar.Config); ok {
				add(g.Group + g.Project)
			}
		}
	}
	return out
}

// scanConfigVariables reads the variables below the config's top-level
// groups and identifies their tokens by the journal's digests and, for an
// administrator, POST /admin/token (never by use).
func scanConfigVariables(ctx context.Context, c *gitlab.Client, store journal.Store, cfg *config.Config, now time.Time) (*inventory.Report, error) {
	rep, err := inventory.Scan(ctx, c, inventory.Options{Groups: variableRoots(cfg), Variables: true})
	if err != nil {
		return nil, err
	}
	red := redactorFrom(ctx)
	for _, v := range rep.Variables {
		red.Add(v.Found.Secret)
	}
	delivered, err := inventory.JournalDigests(ctx, store, func(s secret.Secret) { red.Add(s) })
	if err != nil {
		return nil, err
	}
	if _, err := inventory.Identify(ctx, c, rep, inventory.IdentifyOptions{Journal: delivered, Admin: rep.User.Admin, Now: now}); err != nil {
		return nil, err
	}
	return rep, nil
}

// strayVariables are, per managed token ref, the variables holding its
// secret that are not among its sinks.
func strayVariables(p *engine.Plan, cfg *config.Config, rep *inventory.Report) map[string][]string {
	sinks := map[string]map[variableKey]bool{}
	for _, t := range cfg.Tokens {
		sinks[t.Ref()] = sinkVariables(t)
	}
	out := map[string][]string{}
	for _, it := range p.Items {
		for _, v := range rep.Variables {
			if v.Hidden {
				continue
			}
			// GitLab numbers each kind of token on its own: an id names
			// a token only together with its kind.
			mine := v.Ident.Ref == it.Ref ||
				(it.Current != nil && v.Ident.Token != nil && v.Ident.Token.ID == it.Current.ID && v.Ident.Token.TokenKind() == it.Current.TokenKind())
			if mine && !sinks[it.Ref][keyOfVariable(v)] {
				out[it.Ref] = append(out[it.Ref], v.Place())
			}
		}
	}
	return out
}

// writeStrayVariables warns about each managed token whose secret sits in a
// variable that is not one of its sinks.
func writeStrayVariables(w io.Writer, stray map[string][]string, p *engine.Plan) {
	for _, it := range p.Items {
		for _, place := range stray[it.Ref] {
			fmt.Fprintf(w, "! %s: its secret is also in %s, not one of its sinks: after the next rotation that variable keeps the old secret and the jobs using it fail; add it under deliver: (gitlab_variable) or stop using it\n", it.Ref, place)
		}
	}
}
