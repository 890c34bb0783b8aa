package sim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

var (
	keyRE       = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	maskedRE    = regexp.MustCompile(`^[a-zA-Z0-9_+=/@:.~-]{8,}$`)
	maskedRawRE = regexp.MustCompile(`^\S{8,}$`)
)

// variableResource resolves the group or project of a CI/CD variable
// endpoint and checks GitLab's admin_cicd_variables permission, which every
// one of them (reads included) needs: Owner of a group, Maintainer+ of a
// project, or an administrator. Otherwise 403 {"message":"403 Forbidden"}.
func (c *call) variableResource(kind string) (int64, bool) {
	id, lvl, ok := c.resource(kind)
	if !ok {
		return 0, false
	}
	need := 40
	if kind == "group" {
		need = 50
	}
	if !c.admin() && lvl < need {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return 0, false
	}
	return id, true
}

func (s *Server) resourceVariables(kind string, id int64) []*variable {
	var out []*variable
	for _, v := range s.st.variables {
		if v.Kind == kind && v.ResourceID == id {
			out = append(out, v)
		}
	}
	return out
}

func variableNotFound(kind string) string {
	if kind == "group" {
		return "404 GroupVariable Not Found"
	}
	return "404 Variable Not Found"
}

// onVariable makes the handler of an endpoint on the call's {key} variable
// of its group or project (kind); when there is none, the answer (403, 404
// …) is already written and serve is not called.
func onVariable(kind string, serve func(*call, *variable)) func(*call) {
	return onResource(kind, (*call).variableResource, func(c *call, id int64) {
		if v := c.findVariable(kind, id); v != nil {
			serve(c, v)
		}
	})
}

// findVariable resolves {key} (+ filter[environment_scope]); answers 404/409 itself.
func (c *call) findVariable(kind string, id int64) *variable {
	key := c.r.PathValue("key")
	scope, filtered := c.p.get("filter[environment_scope]")
	var found []*variable
	for _, v := range c.s.resourceVariables(kind, id) {
		if v.Key == key && (!filtered || v.EnvironmentScope == scope) {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		message(c.w, http.StatusNotFound, variableNotFound(kind))
		return nil
	case 1:
		return found[0]
	}
	message(c.w, http.StatusConflict, "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'")
	return nil
}

func (s *Server) listVariables(kind string) func(*call) {
	return onResource(kind, (*call).variableResource, func(c *call, id int64) {
		writeViews(c, s.resourceVariables(kind, id), variableView)
	})
}

func (s *Server) getVariable(kind string) func(*call) {
	return onVariable(kind, func(c *call, v *variable) {
		writeJSON(c.w, http.StatusOK, variableView(v))
	})
}

// applyVariableParams copies the optional attributes in the request onto v.
// It answers 400 itself when a parameter is malformed.
func (c *call) applyVariableParams(v *variable) bool {
	if t, ok := c.p.get("variable_type"); ok {
		if t != "env_var" && t != "file" {
			paramError(c.w, "variable_type does not have a valid value")
			return false
		}
		v.VariableType = t
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{{"protected", &v.Protected}, {"masked", &v.Masked}, {"raw", &v.Raw}} {
		val, present, ok := c.p.boolean(b.key)
		if !ok {
			paramError(c.w, b.key+" is invalid")
			return false
		}
		if present {
			*b.dst = val
		}
	}
	if val, ok := c.p.get("value"); ok {
		v.Value = val
	}
	if sc, ok := c.p.get("environment_scope"); ok && sc != "" {
		v.EnvironmentScope = sc
	}
	if d, ok := c.p.get("description"); ok {
		v.Description = &d
	}
	return true
}

// validateVariable returns GitLab's model errors for v, or nil.
func (s *Server) validateVariable(v *variable, self *variable) map[string][]string {
	errs := map[string][]string{}
	if len(v.Key) > 255 {
		errs["key"] = append(errs["key"], "is too long (maximum is 255 characters)")
	}
	if !keyRE.MatchString(v.Key) {
		errs["key"] = append(errs["key"], "can contain only letters, digits and '_'.")
	}
	if v.Masked {
		re := maskedRE
		if v.Raw {
			re = maskedRawRE
		}
		if !re.MatchString(v.Value) {
			errs["value"] = append(errs["value"], "is invalid")
		}
	}
	for _, o := range s.resourceVariables(v.Kind, v.ResourceID) {
		if o != self && o.Key == v.Key && o.EnvironmentScope == v.EnvironmentScope {
			errs["key"] = append(errs["key"], "("+v.Key+") has already been taken")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (s *Server) createVariable(kind string) func(*call) {
	return onResource(kind, (*call).variableResource, func(c *call, id int64) {
		var miss []string
		for _, k := range []string{"key", "value"} {
			if _, ok := c.p.get(k); !ok {
				miss = append(miss, k+" is missing")
			}
		}
		if len(miss) > 0 {
			paramError(c.w, strings.Join(miss, ", "))
			return
		}
		v := &variable{Kind: kind, ResourceID: id, Key: c.p.str("key"), VariableType: "env_var", EnvironmentScope: "*"}
		if !c.applyVariableParams(v) {
			return
		}
		mh, _, ok := c.p.boolean("masked_and_hidden")
		if !ok {
			paramError(c.w, "masked_and_hidden is invalid")
			return
		}
		if mh {
			v.Masked, v.Hidden = true, true
		}
		if errs := s.validateVariable(v, nil); errs != nil {
			message(c.w, http.StatusBadRequest, errs)
			return
		}
		s.st.variables = append(s.st.variables, v)
		writeJSON(c.w, http.StatusCreated, variableView(v))
	})
}

func (s *Server) updateVariable(kind string) func(*call) {
	return onVariable(kind, func(c *call, v *variable) {
		upd := *v
		if !c.applyVariableParams(&upd) {
			return
		}
		if mh, present, _ := c.p.boolean("masked_and_hidden"); present && mh != v.Hidden {
			message(c.w, http.StatusBadRequest, map[string][]string{"base": {"Only new variables can be set as masked and hidden."}})
			return
		}
		if v.Hidden && upd.Masked != v.Masked {
			message(c.w, http.StatusBadRequest, map[string][]string{"base": {"The visibility setting cannot be changed for masked and hidden variables."}})
			return
		}
		if errs := s.validateVariable(&upd, v); errs != nil {
			message(c.w, http.StatusBadRequest, errs)
			return
		}
		*v = upd
		writeJSON(c.w, http.StatusOK, variableView(v))
	})
}

func (s *Server) deleteVariable(kind string) func(*call) {
	return onVariable(kind, func(c *call, v *variable) {
		s.st.variables = slices.DeleteFunc(s.st.variables, func(o *variable) bool { return o == v })
		c.w.WriteHeader(http.StatusNoContent)
	})
}
