package config

import (
	"strings"
	"testing"
)

// head is a valid first part; bad configs below start on line 3.
const head = "gitlab: {url: https://gitlab.example.com, token_env: GITLAB_TOKEN}\n"

// tokenT is a tokens: list of one entry, t, with the given keys one a line
// (from the line after name: t).
func tokenT(keys ...string) string {
	y := "tokens:\n  - name: t\n"
	for _, k := range keys {
		y += "    " + k + "\n"
	}
	return y
}

// The entry t as each kind of token; a test adds its own keys after it.
var (
	tok   = tokenT("group: g", "scopes: [api]")
	dtok  = tokenT("project: g/p", "kind: deploy_token")
	rtok  = tokenT("kind: runner_token")
	ttok  = tokenT("project: g/p", "kind: trigger_token")
	satok = tokenT("kind: service_account_token", "service_account: svc", "scopes: [api]")
)

// delivering is a config whose token t (tok) delivers to one sink: sink is
// the YAML of that deliver: item, from line 7, and may go on after it.
func delivering(sink string) string {
	return head + tok + "    deliver:\n      - " + sink
}

func TestRejected(t *testing.T) {
	type want struct {
		line int
		msg  string // substring of the message
		hint string // substring of the hint
	}
	tests := []struct {
		name string
		yaml string
		want []want
	}{
		{"unknown top-level key", head + "tokenz: []\n",
			[]want{{2, `config: unknown key "tokenz"`, `did you mean "tokens"?`}}},
		{"runner token without runner", head + rtok,
			[]want{{3, `token "t": runner is required for kind runner_token`, "add runner: ID"}}},
		{"runner token with a group and scopes", head + rtok + "    runner: 7\n    group: g\n    scopes: [api]\n",
			[]want{{6, `token "t": group is not used by runner tokens`, "remove it"}, {7, `token "t": scopes is not used by runner tokens`, "remove it"}}},
		{"runner token with strategy rotate", head + rtok + "    runner: 7\n    strategy: rotate\n",
			[]want{{6, `token "t": strategy rotate is not possible for a runner token`, "reset is the default"}}},
		{"runner token with verify", head + rtok + "    runner: 7\n    verify: {path: /user}\n",
			[]want{{4, `token "t": verify is not possible for a runner token`, "POST /runners/verify"}}},
		{"strategy reset on an access token", head + tok + "    strategy: reset\n",
			[]want{{6, `token "t": strategy reset is only for runner tokens`, "runner_token"}}},
		{"runner on an access token", head + tok + "    runner: 7\n",
			[]want{{6, `token "t": runner is only used by runner tokens`, "remove it"}}},
		{"one runner twice", head + rtok + "    runner: 7\n  - name: u\n    kind: runner_token\n    runner: 7\n",
			[]want{{6, `token "u": runner 7 is already managed by token "t" (line 3)`, "one entry per runner"}}},
		{"trigger token on a group, with scopes", head + tok + "    kind: trigger_token\n",
			[]want{{4, `token "t": a trigger token needs project:, not group:`, "use project:"}, {5, `token "t": scopes are not used by trigger tokens`, "remove scopes"}}},
		{"trigger token with description and access_level", head + ttok + "    description: x\n    access_level: developer\n",
			[]want{{6, `token "t": description is not used by trigger tokens`, "its name"}, {7, `token "t": access_level is not used by trigger tokens`, "remove access_level"}}},
		{"trigger token with strategy rotate", head + ttok + "    strategy: rotate\n",
			[]want{{6, `token "t": strategy rotate is not possible for a trigger token`, "no rotate endpoint"}}},
		{"trigger token with verify", head + ttok + "    verify: {path: /user}\n",
			[]want{{5, `token "t": verify is not possible for a trigger token`, "compares it"}}},
		{"service-account token without service_account", head + tokenT("kind: service_account_token", "scopes: [api]"),
			[]want{{4, `token "t": service_account is required`, "username"}}},
		{"service-account token of a subgroup", head + satok + "    group: g/sub\n",
			[]want{{7, `token "t": group "g/sub" is not a top-level group`, "use g"}}},
		{"service-account token of a project", head + satok + "    project: g/p\n",
			[]want{{7, `token "t": a service-account token has no project:`, "top-level group"}}},
		{"service-account token with an admin scope", head + tokenT("kind: service_account_token", "service_account: svc", "scopes: [sudo]"),
			[]want{{6, `token "t": scope "sudo" does not exist for service account tokens`, "read_user"}}},
		{"service-account token with strategy self", head + satok + "    strategy: self\n",
			[]want{{7, `token "t": strategy self is not possible for a service-account token`, "strategy: rotate"}}},
		{"service-account token with access_level", head + satok + "    access_level: owner\n",
			[]want{{7, `token "t": access_level is not used by service-account tokens`, "no role"}}},
		{"service_account on an access token", head + tok + "    service_account: svc\n",
			[]want{{6, `token "t": service_account is only used by service-account tokens`, "service_account_token"}}},
		{"deploy token with an access-token scope", head + tok + "    kind: deploy_token\n",
			[]want{{5, `token "t": scope "api" does not exist for deploy tokens`, "read_registry"}}},
		{"deploy token scope typo", head + dtok + "    scopes: [read_registy]\n",
			[]want{{6, `token "t": scope "read_registy" does not exist for deploy tokens`, `did you mean "read_registry"?`}}},
		{"deploy token without scopes", head + dtok,
			[]want{{3, `token "t": scopes are required`, "read_registry"}}},
		{"deploy token with access_level", head + dtok + "    scopes: [read_registry]\n    access_level: reporter\n",
			[]want{{7, `token "t": access_level is not used by deploy tokens`, "remove access_level"}}},
		{"deploy token with a bad username", head + dtok + "    scopes: [read_registry]\n    username: \"ci bot\"\n",
			[]want{{7, `token "t": invalid deploy token username "ci bot"`, "letters, digits"}}},
		{"deploy token with strategy rotate", head + dtok + "    scopes: [read_registry]\n    strategy: rotate\n",
			[]want{{7, `token "t": strategy rotate is not possible for a deploy token`, "no rotate endpoint"}}},
		{"deploy token with verify", head + dtok + "    scopes: [read_registry]\n    verify: {path: /user}\n",
			[]want{{5, `token "t": verify is not possible for a deploy token`, "REST API"}}},
		{"username on an access token", head + tok + "    username: bot\n",
			[]want{{6, `token "t": username is only used by deploy tokens`, "deploy_token"}}},
		{"unknown kind", head + tok + "    kind: deploy-token\n",
			[]want{{6, `token "t": unknown kind "deploy-token"`, `did you mean "deploy_token"?`}}},
		{"kind does not match the resource", head + tok + "    kind: project_access_token\n",
			[]want{{6, `token "t": kind project_access_token needs project:`, "group_access_token"}}},
		{"unknown nested key", head + tok + "    scope: [api]\n",
			[]want{{6, `token "t": unknown key "scope"`, `did you mean "scopes"?`}}},
		{"unknown sink key", delivering("file: {path: /x, key: K, mod: 600}\n"),
			[]want{{7, `unknown key "mod"`, `"mode"`}}},
		{"kubernetes secret: labels not a mapping", delivering("kubernetes_secret:\n          namespace: app\n          name: s\n          labels: [team]\n"),
			[]want{{10, "kubernetes_secret.labels must be a mapping (name: value), not a list", "{name: value}"}}},
		{"kubernetes secret: label value not a scalar", delivering("kubernetes_secret:\n          namespace: app\n          name: s\n          labels: {team: [a]}\n"),
			[]want{{10, "kubernetes_secret.labels.team must be a single value", ""}}},
		{"kubernetes secret: problems at their lines", delivering("kubernetes_secret:\n          name: s\n          format: vault\n"),
			[]want{{8, "namespace is required", "add namespace:"}, {9, `unknown format "vault"`, "opaque, dockerconfigjson"}}},
		{"kubernetes secret: label checked", delivering("kubernetes_secret:\n          namespace: app\n          name: s\n          labels: {team: a b}\n"),
			[]want{{10, `invalid value of label "team"`, "at most 63"}}},
		{"inline gitlab token", "gitlab:\n  url: https://g.example.com\n  token: glpat-SECRETVALUE123\n",
			[]want{{2, "token_env or token_file is required", "token_env"}, {3, "secret written inline (token)", "use token_env or token_file"}}},
		{"inline webhook secret", head + "notify:\n  - webhook: {url: https://h.example.com, secret: hunter2hunter2}\n",
			[]want{{3, "secret written inline (secret)", "use secret_env or secret_file"}}},
		{"inline smtp password", head + "notify:\n  - email: {smtp_host: s, from: a@b, to: [c@d], password: hunter2hunter2}\n",
			[]want{{3, "secret written inline (password)", "password_env"}}},
		{"inline slack url", head + "notify:\n  - slack: {webhook_url: https://hooks.slack.com/services/SECRET}\n",
			[]want{{3, "secret written inline (webhook_url)", "webhook_url_env"}, {3, "webhook_url_env or webhook_url_file is required", ""}}},
		{"password in postgres url", head + "state: postgres://tw:hunter2hunter2@db/tw\n",
			[]want{{2, "a password in the postgres URL", "PGPASSWORD"}}},
		{"password in postgres url query", head + "state: postgres://tw@db/tw?sslmode=require&password=hunter2hunter2\n",
			[]want{{2, "a password in the postgres URL", "PGPASSWORD"}}},
		{"self_rotate without token_file", "gitlab:\n  url: https://g.example.com\n  token_env: A\n  self_rotate: true\n",
			[]want{{4, "gitlab.self_rotate needs gitlab.token_file", "token_file: PATH"}}},
		{"gitlab.deliver without self_rotate", "gitlab:\n  url: https://g.example.com\n  token_file: /t\n  deliver:\n    - file: {path: /x, format: raw}\n",
			[]want{{5, "gitlab.deliver without gitlab.self_rotate", "self_rotate: true"}}},
		{"managing thresholds reversed", "gitlab: {url: https://g.example.com, token_env: A, expires_warning: 7d, expires_critical: 30d}\n",
			[]want{{1, "gitlab: expires_critical is longer than expires_warning", "default 7d"}}},
		{"managing token sink without path", "gitlab:\n  url: https://g.example.com\n  token_file: /t\n  self_rotate: true\n  deliver:\n    - file: {format: raw}\n",
			[]want{{6, "path", ""}}},
		{"both token_env and token_file", "gitlab: {url: https://g.example.com, token_env: A, token_file: /b}\n",
			[]want{{1, "both token_env and token_file", ""}}},
		{"missing gitlab", "tokens: []\n",
			[]want{{1, "gitlab is required", "gitlab:"}}},
		{"url with api/v4", "gitlab: {url: https://g.example.com/api/v4, token_env: A}\n",
			[]want{{1, "ends with /api/v4", "https://g.example.com"}}},
		{"timeout too short", "gitlab:\n  url: https://g.example.com\n  token_env: A\n  timeout: 100ms\n",
			[]want{{4, "gitlab.timeout 100ms is shorter than a second", "default 30s"}}},
		{"timeout too long", "gitlab:\n  url: https://g.example.com\n  token_env: A\n  timeout: 1h\n",
			[]want{{4, "gitlab.timeout 1h0m0s is longer than 10m0s", "10m or less"}}},
		{"timeout not a duration", "gitlab:\n  url: https://g.example.com\n  token_env: A\n  timeout: soon\n",
			[]want{{4, `gitlab.timeout: invalid duration "soon"`, "e.g. 90d"}}},
		{"not a url", "gitlab: {url: gitlab.example.com, token_env: A}\n",
			[]want{{1, "not an http(s) URL", ""}}},
		{"unknown scope", head + tokenT("group: g", "scopes: [read_registy]"),
			[]want{{5, `unknown scope "read_registy"`, `did you mean "read_registry"?`}}},
		{"personal-only scope", head + tokenT("group: g", "scopes: [read_user]"),
			[]want{{5, `"read_user" exists only on personal access tokens`, "valid scopes: api"}}},
		{"scope listed twice", head + tokenT("group: g", "scopes: [api, read_api, api]"),
			[]want{{5, `token "t": scope "api" listed twice`, "remove the duplicate"}}},
		{"deploy token scope listed twice", head + dtok + "    scopes: [read_registry, read_registry]\n",
			[]want{{6, `token "t": scope "read_registry" listed twice`, "remove the duplicate"}}},
		{"no scopes", head + tokenT("group: g"),
			[]want{{3, "scopes are required", "read_api"}}},
		{"scopes as a string", head + tokenT("group: g", "scopes: api"),
			[]want{{5, "must be a list", "[api]"}, {5, "scopes are required", ""}}},
		{"invalid access level", head + tok + "    access_level: admin\n",
			[]want{{6, `invalid access_level "admin"`, "maintainer (40)"}}},
		{"invalid access level number", head + tok + "    access_level: 45\n",
			[]want{{6, `invalid access_level "45"`, "owner (50)"}}},
		{"lifetime over 365d", head + tok + "    lifetime: 400d\n",
			[]want{{6, "lifetime over 365 days", "365d"}}},
		{"default lifetime over 365d", head + "defaults: {lifetime: 53w}\n",
			[]want{{2, "defaults: lifetime over 365 days", ""}}},
		{"rotate_before >= lifetime", head + tok + "    lifetime: 30d\n    rotate_before: 30d\n",
			[]want{{6, "rotate_before is not shorter than lifetime", "third"}}},
		{"bad duration", head + tok + "    grace: 1 hour\n",
			[]want{{6, `invalid duration "1 hour"`, "90d"}}},
		{"negative duration", head + tok + "    grace: -1h\n",
			[]want{{6, "grace must not be negative", ""}}},
		{"concurrency not a number", head + "concurrency: many\n",
			[]want{{2, `concurrency must be a whole number, not "many"`, ""}}},
		{"file mode not octal", delivering("file: {path: /x, format: raw, mode: rw-------}\n"),
			[]want{{7, `invalid file mode "rw-------"`, `"0600"`}}},
		{"unknown strategy", head + tok + "    strategy: recreate\n",
			[]want{{6, `unknown strategy "recreate"`, "overlap"}}},
		{"self without token_env", head + tok + "    strategy: self\n",
			[]want{{6, "token_env or token_file is required", ""}}},
		{"self without self_rotate scope", head + tokenT("group: g", "scopes: [read_api]", "strategy: self", "token_env: T"),
			[]want{{6, "strategy self needs the api or self_rotate scope", "self_rotate"}}},
		{"token_env without self", head + tok + "    token_env: T\n",
			[]want{{6, "only used with strategy self", ""}}},
		{"group and project", head + tok + "    project: g/p\n",
			[]want{{4, "both group and project", ""}}},
		{"neither group nor project", head + tokenT("scopes: [api]"),
			[]want{{3, "group or project is required", ""}}},
		{"missing name", head + "tokens:\n  - group: g\n    scopes: [api]\n",
			[]want{{3, "name is required", ""}}},
		{"duplicate names per resource", head + tok + "  - name: t\n    group: g\n    scopes: [read_api]\n  - name: t\n    project: g\n    scopes: [api]\n",
			[]want{{6, `token "t": group g already has a token with this name (line 3)`, "distinct name"}}},
		{"variable without key", delivering("gitlab_variable: {project: g/p}\n"),
			[]want{{7, "key is required", ""}}},
		{"variable without resource", delivering("gitlab_variable: {key: K}\n"),
			[]want{{7, "group or project is required", ""}}},
		{"variable with bad key", delivering("gitlab_variable: {project: g/p, key: MY-KEY}\n"),
			[]want{{7, `invalid key "MY-KEY"`, "letters, digits and _"}}},
		{"file without path", delivering("file: {key: K}\n"),
			[]want{{7, "path is required", ""}}},
		{"dotenv file without key", delivering("file: {path: /x.env}\n"),
			[]want{{7, "key is required for format dotenv", "format: raw"}}},
		{"raw file with key", delivering("file: {path: /x, format: raw, key: K}\n"),
			[]want{{7, "key is not used with format raw", ""}}},
		{"unknown file format", delivering("file: {path: /x, format: ini, key: K}\n"),
			[]want{{7, `unknown format "ini"`, "dotenv"}}},
		{"toml selector without a value", delivering("file: {path: /etc/gitlab-runner/config.toml, key: \"runners[name].token\"}\n"),
			[]want{{7, "a selector is [field=value]", "runners[name=NAME].token"}}},
		{"world-readable file", delivering("file: {path: /x, format: raw, mode: \"0644\"}\n"),
			[]want{{7, "mode 0644 lets every user", "0600"}}},
		{"newline on a dotenv file", delivering("file: {path: /x.env, key: K, newline: true}\n"),
			[]want{{7, "newline is used only with format raw", "remove newline"}}},
		{"allow_shared_dir that is not a bool", delivering("file: {path: /tmp/x, format: raw, allow_shared_dir: yes please}\n"),
			[]want{{7, "allow_shared_dir must be true or false", ""}}},
		{"dotenv key that is not a variable name", delivering("file: {path: /x.env, key: my-key}\n"),
			[]want{{7, `dotenv key "my-key" is not a valid variable name`, "letters, digits"}}},
		{"json key with an empty segment", delivering("file: {path: /x.json, key: a..b}\n"),
			[]want{{7, `key "a..b" has an empty segment`, "registry.token"}}},
		{"sink problem at the line of its key", delivering("gitlab_variable:\n          project: g/p\n          masked: true\n          key: MY-KEY\n"),
			[]want{{10, `gitlab_variable: invalid key "MY-KEY"`, "letters, digits and _"}}},
		{"exec env with tokenwarden's prefix", delivering("exec: {command: [x], env: TOKENWARDEN_REG}\n"),
			[]want{{7, "env TOKENWARDEN_REG: the TOKENWARDEN_ prefix is reserved", "another variable name"}}},
		{"exec env not a name", delivering("exec: {command: [x], env: $REG}\n"),
			[]want{{7, "env is not an environment variable name", "without $: REG"}}},
		{"exec without command", delivering("exec: {env: TOKEN}\n"),
			[]want{{7, "command is required", "stdin"}}},
		{"exec command as a string", delivering("exec: {command: systemctl reload app}\n"),
			[]want{{7, "command must be a list", "[systemctl reload app]"}, {7, "command is required", ""}}},
		{"exec env_pass of the managing token", delivering("exec: {command: [x], env_pass: [APP_ENV, GITLAB_TOKEN]}\n"),
			[]want{{7, "env_pass GITLAB_TOKEN: it holds the managing token (gitlab.token_env)", "never passed to a hook"}}},
		{"exec env_pass of a webhook secret", delivering("exec:\n          command: [x]\n          env_pass: [HOOK_KEY]\nnotify:\n  - webhook: {url: https://h.example.com, secret_env: HOOK_KEY}\n"),
			[]want{{9, "env_pass HOOK_KEY: it holds the signing secret of notify[0].webhook", ""}}},
		{"exec env_pass of the smtp password", delivering("exec: {command: [x], env_pass: [SMTP_PASSWORD]}\nnotify:\n  - email: {smtp_host: s, from: a@b, to: [c@d], username: u, password_env: SMTP_PASSWORD}\n"),
			[]want{{7, "env_pass SMTP_PASSWORD: it holds the SMTP password of notify[0].email", ""}}},
		{"exec env_pass of the slack url", delivering("exec: {command: [x], env_pass: [SLACK_URL]}\nnotify:\n  - slack: {webhook_url_env: SLACK_URL}\n"),
			[]want{{7, "env_pass SLACK_URL: it holds the Slack webhook URL of notify[0].slack", ""}}},
		{"exec env_pass of the dashboard password", delivering("exec: {command: [x], env_pass: [DASH_PW]}\nserve: {password_env: DASH_PW}\n"),
			[]want{{7, "env_pass DASH_PW: it holds the dashboard password (serve.password_env)", ""}}},
		{"exec env_pass of another token's secret", delivering("exec: {command: [x], env_pass: [BOT_TOKEN]}\n  - {name: bot, group: g, scopes: [api], strategy: self, token_env: BOT_TOKEN}\n"),
			[]want{{7, `env_pass BOT_TOKEN: it holds the secret of token "bot" (token_env)`, ""}}},
		{"exec env_pass of the database password", head + "state: postgres://tw@db/tw\n" + tok + "    deliver:\n      - exec: {command: [x], env_pass: [PGPASSWORD]}\n",
			[]want{{8, "env_pass PGPASSWORD: it holds the state database's password", ""}}},
		{"exec env_pass of tokenwarden's own", delivering("exec: {command: [x], env_pass: [TOKENWARDEN_PASSWORD]}\n"),
			[]want{{7, "env_pass TOKENWARDEN_PASSWORD: tokenwarden's own variables are never passed to a hook", ""}}},
		{"exec env_pass of its own secret variable", delivering("exec: {command: [x], env: REG, env_pass: [REG]}\n"),
			[]want{{7, "env_pass REG: it is the variable the secret goes in (env)", "remove it"}}},
		{"exec env_pass not a name", delivering("exec: {command: [x], env_pass: [$HOME]}\n"),
			[]want{{7, "env_pass[0] is not an environment variable name", "HOME"}}},
		{"exec newline with env", delivering("exec: {command: [x], env: REG, newline: true}\n"),
			[]want{{7, "newline applies to the secret on stdin", "remove newline"}}},
		{"sink with two kinds", delivering("file: {path: /x, format: raw}\n        exec: {command: [x]}\n"),
			[]want{{7, "has more than one of exec, file, gitlab_variable", ""}}},
		{"username_key on an access token", delivering("file:\n          path: /x.env\n          key: REGISTRY_TOKEN\n          username_key: REGISTRY_USER\n"),
			[]want{{10, `deliver[0].file: username_key delivers a username, but token "t" is an access token, which has no username`, "only a deploy token"}}},
		{"docker_config on an access token", delivering("file: {path: /config.json, format: docker_config, registry: registry.example.com}\n"),
			[]want{{7, "format docker_config delivers a username", "only a deploy token"}}},
		{"username variable on an access token", delivering("gitlab_variable: {project: g/p, key: T, username_key: U}\n"),
			[]want{{7, "username_key delivers a username", "remove username_key"}}},
		{"username env on an access token", delivering("exec: {command: [x], username_env: USER_NAME}\n"),
			[]want{{7, "username_env delivers a username", ""}}},
		{"docker_config without registry", delivering("file: {path: /config.json, format: docker_config}\n"),
			[]want{{7, "registry is required for format docker_config", "registry.gitlab.example.com"}, {7, "format docker_config delivers a username", ""}}},
		{"username_key with format raw", delivering("file: {path: /t, format: raw, username_key: U}\n"),
			[]want{{7, "username_key is not used with format raw", "dotenv, json or yaml"}, {7, "username_key delivers a username", ""}}},
		{"empty sink", delivering("{}\n"),
			[]want{{7, "deliver[0] is empty", "gitlab_variable"}}},
		{"verify with /api/v4", head + tok + "    verify: {path: /api/v4/user}\n",
			[]want{{6, "path includes /api/v4", "/user"}}},
		{"env name with $", "gitlab: {url: https://g.example.com, token_env: $TOKEN}\n",
			[]want{{1, "token_env is not an environment variable name", "TOKEN"}, {1, "token_env or token_file is required", ""}}},
		{"lifetime over policy max", head + tok + "policy: {max_lifetime: 30d}\n",
			[]want{{3, "lifetime 90d is over policy.max_lifetime 30d", ""}}},
		{"bool that is not", delivering("gitlab_variable: {project: g/p, key: K, masked: yes}\n"),
			[]want{{7, "masked must be true or false", ""}}},
		{"trusted proxy not a network", head + "serve:\n  trusted_proxies: [10.0.0.0/8, proxy.example.com]\n",
			[]want{{3, `serve.trusted_proxies[1]: "proxy.example.com" is not an IP address or network`, "10.0.0.0/8"}}},
		{"trusted proxy with host bits", head + "serve:\n  trusted_proxies:\n    - 10.1.2.3/8\n",
			[]want{{4, `serve.trusted_proxies[0]: "10.1.2.3/8" has bits set after the /8`, "10.0.0.0/8"}}},
		{"metrics_tokens not managed or all", head + "serve:\n  metrics_tokens: some\n",
			[]want{{3, `serve.metrics_tokens must be managed or all, not "some"`, "metrics_tokens: managed"}}},
		{"trusted proxies as a string", head + "serve: {trusted_proxies: 10.0.0.0/8}\n",
			[]want{{2, "serve.trusted_proxies must be a list", "[10.0.0.0/8]"}}},
		{"state scheme", head + "state: mysql://db\n",
			[]want{{2, "state: unsupported", "sqlite://"}}},
		{"yaml syntax", head + "tokens:\n  - name: [\n",
			[]want{{3, "", "not valid YAML"}}},
		{"empty file", "",
			[]want{{1, "the file is empty", ""}}},
		{"second document", head + "---\nfoo: 1\n",
			[]want{{2, "second YAML document", ""}}},
		{"not a mapping", "- a\n- b\n",
			[]want{{1, "config must be a mapping", ""}, {1, "gitlab is required", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error echoes a secret: %v", err)
			}
			got := Errors(err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.File != "c.yaml" || g.Line != w.line || !strings.Contains(g.Msg, w.msg) || !strings.Contains(g.Hint, w.hint) {
					t.Errorf("error %d = %q (hint %q), want line %d msg ~%q hint ~%q", i, g.Error(), g.Hint, w.line, w.msg, w.hint)
				}
				if strings.Contains(g.Hint, "hunter2") {
					t.Errorf("hint echoes a secret: %q", g.Hint)
				}
			}
		})
	}
}

func TestManyErrorsInLineOrder(t *testing.T) {
	y := head + "tokens:\n  - name: a\n    group: g\n    scopes: [nope]\n    access_level: boss\n  - name: b\n    group: g\n    scopes: [api]\n    lifetime: 2y\nbogus: 1\n"
	_, err := Parse("c.yaml", []byte(y))
	got := Errors(err)
	var lines []int
	for _, e := range got {
		lines = append(lines, e.Line)
	}
	if len(got) != 4 || lines[0] != 5 || lines[1] != 6 || lines[2] != 10 || lines[3] != 11 {
		// bogus is on line 11, but decoding reports it first: the sort must fix that.
		t.Fatalf("lines %v:\n%v", lines, err)
	}
	if !strings.HasPrefix(err.Error(), "c.yaml:5: token \"a\": unknown scope \"nope\"\n") {
		t.Errorf("joined error: %v", err)
	}
}
