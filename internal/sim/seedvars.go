package sim

import (
	"encoding/base64"
	"fmt"
)

// seededToken is a generated token with its secret.
type seededToken struct {
	t      *token
	secret string
}

// generateVariables gives the seeded instance the CI/CD variables a real one
// has: most resources with a token keep it in a variable (masked and
// protected, or not), some keep an expired or revoked one, some another
// resource's ("foreign"), a token GitLab does not know, tokens inside file
// variables (.npmrc, Docker config.json, .netrc, dotenv), hidden variables,
// and variables that hold no token at all. It runs after every token and
// credential is made and draws from the generator only then, so an instance
// generated with variables has the same groups, projects, tokens and
// credentials (and secrets) as one without.
func (s *Server) generateVariables(minted []seededToken) {
	if len(minted) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.rng
	byRes := map[resKey][]seededToken{}
	for _, m := range minted {
		k := resKey{m.t.ResourceType, m.t.ResourceID}
		byRes[k] = append(byRes[k], m)
	}
	add := func(kind string, id int64, key, value, typ string, masked, protected, hidden bool) {
		v := &variable{Kind: kind, ResourceID: id, Key: key, Value: value, VariableType: typ,
			Masked: masked || hidden, Protected: protected, Hidden: hidden, EnvironmentScope: "*"}
		if v.Masked && !maskedRE.MatchString(value) {
			v.Masked, v.Hidden = false, false
		}
		s.st.variables = append(s.st.variables, v)
	}
	resources := make([]resKey, 0, len(s.st.groupList)+len(s.st.projectList))
	for _, g := range s.st.groupList {
		resources = append(resources, resKey{"group", g.ID})
	}
	for _, p := range s.st.projectList {
		resources = append(resources, resKey{"project", p.ID})
	}
	for _, k := range resources {
		add(k.Kind, k.ID, "LOG_LEVEL", []string{"info", "debug", "warn"}[r.IntN(3)], "env_var", false, false, false)
		own := byRes[k]
		if len(own) > 0 && r.IntN(100) < 60 {
			m := own[r.IntN(len(own))]
			x := r.IntN(100)
			add(k.Kind, k.ID, "GITLAB_TOKEN", m.secret, "env_var", x < 70, x < 50, false)
		}
		if r.IntN(100) < 10 {
			m := minted[r.IntN(len(minted))]
			add(k.Kind, k.ID, "UPSTREAM_TOKEN", m.secret, "env_var", true, true, false)
		}
		if len(own) > 0 && r.IntN(100) < 12 {
			m := own[r.IntN(len(own))]
			fk := fileKeys[r.IntN(len(fileKeys))]
			add(k.Kind, k.ID, fk.key, fk.render(s.host, m.secret), "file", false, r.IntN(2) == 0, false)
		}
		if len(own) > 0 && r.IntN(100) < 6 {
			add(k.Kind, k.ID, "RELEASE_TOKEN", own[r.IntN(len(own))].secret, "env_var", true, true, true)
		}
		if r.IntN(100) < 4 {
			add(k.Kind, k.ID, "LEGACY_TOKEN", s.st.newSecret(), "env_var", false, false, false)
		}
	}
}

// fileKey is a file variable format that holds a token.
type fileKey struct {
	key    string
	render func(host, secret string) string
}

var fileKeys = []fileKey{
	{"NPMRC", func(host, secret string) string {
		return fmt.Sprintf("@acme:registry=https://%s/api/v4/packages/npm/\n//%s/api/v4/packages/npm/:_authToken=%s\n", host, host, secret)
	}},
	{"DOCKER_AUTH_CONFIG", func(host, secret string) string {
		auth := base64.StdEncoding.EncodeToString([]byte("ci:" + secret))
		return fmt.Sprintf(`{"auths":{"registry.%s":{"auth":%q}}}`, host, auth)
	}},
	{"NETRC", func(host, secret string) string {
		return fmt.Sprintf("machine %s\nlogin ci\npassword %s\n", host, secret)
	}},
	{"DEPLOY_ENV", func(_, secret string) string {
		return "REGION=eu-west-1\nGITLAB_TOKEN=" + secret + "\n"
	}},
}
