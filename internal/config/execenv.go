package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// envList stores a list of environment variable names.
func (d *decoder) envList(dst *[]string, where string) field {
	return func(k, v *yaml.Node) {
		var names []string
		d.strings(&names, where)(k, v)
		var out []string
		for i, s := range names {
			s = strings.TrimSpace(s)
			if !envName.MatchString(s) {
				hint := "an environment variable name is letters, digits and _"
				if strings.HasPrefix(s, "$") {
					hint = fmt.Sprintf("write the name without $: %s", strings.Trim(s, "${}"))
				}
				d.errorf(v, hint, "%s[%d] is not an environment variable name", where, i)
				continue
			}
			out = append(out, s)
		}
		*dst = out
	}
}

// execEnvPass refuses env_pass entries that would hand a hook one of
// tokenwarden's own secrets: the managing token above all, a hook that runs
// glab or curl with it would act as the admin. n is the env_pass key.
func (d *decoder) execEnvPass(n *yaml.Node, where string, e *ExecSink) {
	for _, name := range e.EnvPass {
		switch what, secret := d.secretEnv[name]; {
		case strings.HasPrefix(name, "TOKENWARDEN_"):
			d.errorf(n, "remove it from env_pass", "%s: env_pass %s: tokenwarden's own variables are never passed to a hook", where, name)
		case name == e.Env:
			d.errorf(n, "remove it from env_pass: the hook gets the new secret in it", "%s: env_pass %s: it is the variable the secret goes in (env)", where, name)
		case secret:
			d.errorf(n, "remove it from env_pass: tokenwarden's own secrets are never passed to a hook; give the hook a credential of its own in another variable",
				"%s: env_pass %s: it holds %s", where, name, what)
		}
	}
}

// collectSecretEnv records which environment variables hold a secret the
// config names. Tokens are read from their nodes: they are decoded after.
func (d *decoder) collectSecretEnv(c *Config, tokensNode *yaml.Node) {
	m := map[string]string{}
	add := func(name, what string) {
		if name != "" {
			if _, ok := m[name]; !ok {
				m[name] = what
			}
		}
	}
	add(c.GitLab.TokenEnv, "the managing token (gitlab.token_env)")
	if isPostgres(c.State) {
		add("PGPASSWORD", "the state database's password")
	}
	for i, n := range c.Notify {
		switch {
		case n.Webhook != nil:
			add(n.Webhook.SecretEnv, fmt.Sprintf("the signing secret of notify[%d].webhook", i))
		case n.Slack != nil:
			add(n.Slack.WebhookURLEnv, fmt.Sprintf("the Slack webhook URL of notify[%d].slack", i))
		case n.Email != nil:
			add(n.Email.PasswordEnv, fmt.Sprintf("the SMTP password of notify[%d].email", i))
		}
	}
	add(c.Serve.PasswordEnv, "the dashboard password (serve.password_env)")
	if t := resolve(tokensNode); t != nil && t.Kind == yaml.SequenceNode {
		for _, item := range t.Content {
			add(scalarKey(item, "token_env"), fmt.Sprintf("the secret of token %q (token_env)", scalarKey(item, "name")))
		}
	}
	d.secretEnv = m
}

// isPostgres reports whether state is a PostgreSQL URL.
func isPostgres(state string) bool {
	return strings.HasPrefix(state, "postgres://") || strings.HasPrefix(state, "postgresql://")
}
