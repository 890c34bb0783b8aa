package gitlab

import (
	"context"
	"net/http"
	"net/url"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// CI/CD variables of a group or a project. GitLab's two APIs are the same
// but for the path (projects/:id/variables, groups/:id/variables), so one
// code path serves both: the resource says which (see resourcePath).

// Variable is a CI/CD variable as the gitlab_variable sink reads and writes it.
type Variable struct {
	Key         string
	Value       string // "" when Hidden: GitLab never returns it
	File        bool   // variable_type file: Value is the file's content
	Masked      bool
	Protected   bool
	Hidden      bool // masked and hidden; GitLab cannot change this on an existing variable
	Raw         bool
	Scope       string // environment scope, "*" for all
	Description string
}

// variableJSON is GitLab's answer for one variable (projects and groups alike).
type variableJSON struct {
	Key              string `json:"key"`
	Value            string `json:"value"` // null when hidden
	VariableType     string `json:"variable_type"`
	Masked           bool   `json:"masked"`
	Protected        bool   `json:"protected"`
	Hidden           bool   `json:"hidden"`
	Raw              bool   `json:"raw"`
	EnvironmentScope string `json:"environment_scope"`
	Description      string `json:"description"`
}

func (v variableJSON) variable() Variable {
	return Variable{Key: v.Key, Value: v.Value, File: v.VariableType == "file", Masked: v.Masked, Protected: v.Protected, Hidden: v.Hidden,
		Raw: v.Raw, Scope: v.EnvironmentScope, Description: v.Description}
}

// variableCall sends one request about res's variables (variable key, or
// the collection when key is "") and decodes the answer.
func (c *Client) variableCall(ctx context.Context, method string, res Resource, key string, opt any, op, name string) (Variable, error) {
	rest := "/variables"
	if key != "" {
		rest += "/" + url.PathEscape(key)
	}
	path, err := resourcePath(res, rest)
	if err != nil {
		return Variable{}, err
	}
	var v variableJSON
	if _, err := c.send(ctx, method, path, opt, &v); err != nil {
		return Variable{}, c.fail(err, "%s variable %s of %s %s", op, name, res.Type, res.Path)
	}
	return v.variable(), nil
}

// Variable reads variable key of res in environment scope (IsNotFound when
// there is none).
func (c *Client) Variable(ctx context.Context, res Resource, key, scope string) (Variable, error) {
	opt := &gl.GetProjectVariableOptions{Filter: &gl.VariableFilter{EnvironmentScope: scope}}
	return c.variableCall(ctx, http.MethodGet, res, key, opt, "read", key)
}

// CreateVariable creates v in res. It is sent once (a POST is never retried);
// GitLab answers 400 "has already been taken" when it exists.
func (c *Client) CreateVariable(ctx context.Context, res Resource, v Variable) (Variable, error) {
	opt := &gl.CreateProjectVariableOptions{
		Key: gl.Ptr(v.Key), Value: gl.Ptr(v.Value), Description: gl.Ptr(v.Description),
		EnvironmentScope: gl.Ptr(v.Scope), Protected: gl.Ptr(v.Protected), Raw: gl.Ptr(v.Raw),
		VariableType: gl.Ptr(gl.EnvVariableType),
	}
	if v.Hidden {
		opt.MaskedAndHidden = gl.Ptr(true)
	} else {
		opt.Masked = gl.Ptr(v.Masked)
	}
	return c.variableCall(ctx, http.MethodPost, res, "", opt, "create", v.Key)
}

// UpdateVariable writes v over the variable of the same key and scope in
// res. The masking of a hidden variable is left alone: GitLab refuses to
// change it.
func (c *Client) UpdateVariable(ctx context.Context, res Resource, v Variable) (Variable, error) {
	opt := &gl.UpdateProjectVariableOptions{
		Value: gl.Ptr(v.Value), Description: gl.Ptr(v.Description),
		Filter:    &gl.VariableFilter{EnvironmentScope: v.Scope},
		Protected: gl.Ptr(v.Protected), Raw: gl.Ptr(v.Raw),
	}
	if !v.Hidden {
		opt.Masked = gl.Ptr(v.Masked)
	}
	return c.variableCall(ctx, http.MethodPut, res, v.Key, opt, "update", v.Key)
}

// Variables lists every CI/CD variable of res (a group or a project), 100 a
// page: its own, not the ones it inherits. A hidden variable's Value is
// empty: GitLab answers null for it, to everyone.
func (c *Client) Variables(ctx context.Context, res Resource) ([]Variable, error) {
	path, err := resourcePath(res, "/variables")
	if err != nil {
		return nil, err
	}
	vs, err := listAll(ctx, c, func(page int64) ([]variableJSON, *gl.Response, error) {
		var list []variableJSON
		resp, err := c.send(ctx, http.MethodGet, path, &gl.ListOptions{Page: page, PerPage: perPage}, &list)
		return list, resp, err
	})
	if err != nil {
		return nil, c.classify(err, target{kind: res.Type, path: res.Path})
	}
	return mapAll(vs, variableJSON.variable), nil
}
