package gitlabvar

import (
	"context"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// variable is the part of a project or group variable the sink reads and writes.
type variable struct {
	Value       string
	Masked      bool
	Protected   bool
	Hidden      bool
	Raw         bool
	Scope       string
	Description string
}

// resource hides the difference between client-go's project and group
// variable services; both speak the same API.
type resource interface {
	get(ctx context.Context, key, scope string) (variable, error)
	create(ctx context.Context, key string, v variable) (variable, error)
	update(ctx context.Context, key string, v variable) (variable, error)
}

type projectVars struct {
	api *gl.Client
	id  string
}

func (p projectVars) get(ctx context.Context, key, scope string) (variable, error) {
	v, _, err := p.api.ProjectVariables.GetVariable(p.id, key,
		&gl.GetProjectVariableOptions{Filter: &gl.VariableFilter{EnvironmentScope: scope}}, gl.WithContext(ctx))
	if err != nil {
		return variable{}, err
	}
	return variable{v.Value, v.Masked, v.Protected, v.Hidden, v.Raw, v.EnvironmentScope, v.Description}, nil
}

func (p projectVars) create(ctx context.Context, key string, v variable) (variable, error) {
	opt := &gl.CreateProjectVariableOptions{
		Key: gl.Ptr(key), Value: gl.Ptr(v.Value), Description: gl.Ptr(v.Description),
		EnvironmentScope: gl.Ptr(v.Scope), Protected: gl.Ptr(v.Protected), Raw: gl.Ptr(v.Raw),
		VariableType: gl.Ptr(gl.EnvVariableType),
	}
	if v.Hidden {
		opt.MaskedAndHidden = gl.Ptr(true)
	} else {
		opt.Masked = gl.Ptr(v.Masked)
	}
	r, _, err := p.api.ProjectVariables.CreateVariable(p.id, opt, gl.WithContext(ctx))
	if err != nil {
		return variable{}, err
	}
	return variable{r.Value, r.Masked, r.Protected, r.Hidden, r.Raw, r.EnvironmentScope, r.Description}, nil
}

func (p projectVars) update(ctx context.Context, key string, v variable) (variable, error) {
	opt := &gl.UpdateProjectVariableOptions{
		Value: gl.Ptr(v.Value), Description: gl.Ptr(v.Description),
		Filter:    &gl.VariableFilter{EnvironmentScope: v.Scope},
		Protected: gl.Ptr(v.Protected), Raw: gl.Ptr(v.Raw),
	}
	if !v.Hidden { // GitLab refuses to change masking of a hidden variable
		opt.Masked = gl.Ptr(v.Masked)
	}
	r, _, err := p.api.ProjectVariables.UpdateVariable(p.id, key, opt, gl.WithContext(ctx))
	if err != nil {
		return variable{}, err
	}
	return variable{r.Value, r.Masked, r.Protected, r.Hidden, r.Raw, r.EnvironmentScope, r.Description}, nil
}

type groupVars struct {
	api *gl.Client
	id  string
}

func (g groupVars) get(ctx context.Context, key, scope string) (variable, error) {
	v, _, err := g.api.GroupVariables.GetVariable(g.id, key,
		&gl.GetGroupVariableOptions{Filter: &gl.VariableFilter{EnvironmentScope: scope}}, gl.WithContext(ctx))
	if err != nil {
		return variable{}, err
	}
	return variable{v.Value, v.Masked, v.Protected, v.Hidden, v.Raw, v.EnvironmentScope, v.Description}, nil
}

func (g groupVars) create(ctx context.Context, key string, v variable) (variable, error) {
	opt := &gl.CreateGroupVariableOptions{
		Key: gl.Ptr(key), Value: gl.Ptr(v.Value), Description: gl.Ptr(v.Description),
		EnvironmentScope: gl.Ptr(v.Scope), Protected: gl.Ptr(v.Protected), Raw: gl.Ptr(v.Raw),
		VariableType: gl.Ptr(gl.EnvVariableType),
	}
	if v.Hidden {
		opt.MaskedAndHidden = gl.Ptr(true)
	} else {
		opt.Masked = gl.Ptr(v.Masked)
	}
	r, _, err := g.api.GroupVariables.CreateVariable(g.id, opt, gl.WithContext(ctx))
	if err != nil {
		return variable{}, err
	}
	return variable{r.Value, r.Masked, r.Protected, r.Hidden, r.Raw, r.EnvironmentScope, r.Description}, nil
}

func (g groupVars) update(ctx context.Context, key string, v variable) (variable, error) {
	opt := &gl.UpdateGroupVariableOptions{
		Value: gl.Ptr(v.Value), Description: gl.Ptr(v.Description),
		Filter:    &gl.VariableFilter{EnvironmentScope: v.Scope},
		Protected: gl.Ptr(v.Protected), Raw: gl.Ptr(v.Raw),
	}
	if !v.Hidden {
		opt.Masked = gl.Ptr(v.Masked)
	}
	r, _, err := g.api.GroupVariables.UpdateVariable(g.id, key, opt, gl.WithContext(ctx))
	if err != nil {
		return variable{}, err
	}
	return variable{r.Value, r.Masked, r.Protected, r.Hidden, r.Raw, r.EnvironmentScope, r.Description}, nil
}
