package inventory

import (
	"context"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/tokenfind"
)

// VariableToken is a CI/CD variable that holds a GitLab token, or a hidden
// one, whose value nobody can read through the API. The value itself is
// dropped as soon as it is read: only Found (kind, hint, digest, and the
// token as a secret.Secret for identification) is kept.
type VariableToken struct {
	Resource  gitlab.Resource
	Key       string
	Scope     string // environment scope
	File      bool
	Masked    bool
	Protected bool
	Hidden    bool            // not inspectable: Found is zero
	Whole     bool            // an env_var whose whole value (trimmed) is the token: a gitlab_variable sink can keep it
	Found     tokenfind.Found // the token, when not hidden
	Ident     Identification  // filled by Identify
}

// Place names the variable for people: "project acme/app variable
// DEPLOY_TOKEN (scope production)".
func (v VariableToken) Place() string {
	s := v.Resource.Type + " " + v.Resource.Path + " variable " + v.Key
	if v.Scope != "" && v.Scope != "*" {
		s += " (scope " + v.Scope + ")"
	}
	if v.Found.Where != "" {
		s += ", " + v.Found.Where
	}
	return s
}

// Unprotected reports whether the variable is neither masked, protected
// nor hidden: its value shows in job logs and every branch's pipeline gets it.
func (v VariableToken) Unprotected() bool { return !v.Masked && !v.Protected && !v.Hidden }

// variables lists res's CI/CD variables and keeps the ones holding tokens
// (and the hidden ones).
func (w *walk) variables(ctx context.Context, res gitlab.Resource) error {
	vs, err := w.c.Variables(ctx, res)
	var out []VariableToken
	for _, v := range vs {
		base := VariableToken{Resource: res, Key: v.Key, Scope: v.Scope, File: v.File, Masked: v.Masked, Protected: v.Protected, Hidden: v.Hidden}
		if v.Hidden {
			out = append(out, base)
			continue
		}
		for _, f := range tokenfind.Find(v.Value, v.File) {
			vt := base
			vt.Found = f
			vt.Whole = !v.File && strings.TrimSpace(v.Value) == f.Secret.Reveal()
			out = append(out, vt)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		w.rep.VariableErrors = append(w.rep.VariableErrors, ResourceError{Resource: res, Err: err})
		return nil
	}
	w.rep.VariablesScanned++
	w.rep.VariableCount += len(vs)
	w.rep.Variables = append(w.rep.Variables, out...)
	return nil
}

// listVariables lists the variables of every group and project, w.n calls
// in flight.
func (w *walk) listVariables(ctx context.Context, groups []gitlab.Group, projects []gitlab.Project) error {
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(w.n)
	for _, g := range groups {
		eg.Go(func() error { return w.variables(ectx, gitlab.Resource{Type: "group", ID: g.ID, Path: g.Path}) })
	}
	for _, p := range projects {
		eg.Go(func() error { return w.variables(ectx, gitlab.Resource{Type: "project", ID: p.ID, Path: p.Path}) })
	}
	return eg.Wait()
}

func sortVariables(vs []VariableToken) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Resource.Path != b.Resource.Path {
			return a.Resource.Path < b.Resource.Path
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Scope < b.Scope
	})
}
