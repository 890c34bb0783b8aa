package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// envPass refuses variables a sink would hand a program (exec's env_pass)
// that hold one of tokenwarden's own secrets: the managing token above all,
// a hook that runs glab or curl with it would act as the admin. n is the
// node of the setting that names them.
func (d *decoder) envPass(n *yaml.Node, where string, names []string) {
	for _, name := range names {
		if what, secret := d.secretEnv[name]; secret && !strings.HasPrefix(name, "TOKENWARDEN_") {
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
	add(c.StateEnv, "the state's URL (state_env)")
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
