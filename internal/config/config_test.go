package config

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/sink/exec"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/kubesecret"
)

const day = 24 * time.Hour

func TestLoadFull(t *testing.T) {
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	if c.GitLab.URL != "https://gitlab.example.com" || c.GitLab.TokenEnv != "GITLAB_TOKEN" {
		t.Errorf("gitlab = %+v", c.GitLab)
	}
	if want := "sqlite://" + filepath.Join(dir, "state/tokenwarden.db"); c.State != want {
		t.Errorf("state = %q, want %q", c.State, want)
	}
	if want := (Defaults{Lifetime: 90 * day, RotateBefore: 30 * day, Strategy: "overlap", Grace: 2 * time.Hour}); c.Defaults != want {
		t.Errorf("defaults = %+v", c.Defaults)
	}
	if len(c.Tokens) != 3 {
		t.Fatalf("%d tokens", len(c.Tokens))
	}
	deploy, bot, mirror := c.Tokens[0], c.Tokens[1], c.Tokens[2]
	if deploy.Ref() != "group/platform/infra:deploy-registry-read" || deploy.AccessLevel != 20 || deploy.Line != 11 {
		t.Errorf("deploy: ref %s level %d line %d", deploy.Ref(), deploy.AccessLevel, deploy.Line)
	}
	if deploy.Lifetime != 90*day || deploy.RotateBefore != 30*day || deploy.Grace != 2*time.Hour || deploy.Strategy != "overlap" {
		t.Errorf("deploy did not inherit the defaults: %+v", deploy)
	}
	if len(deploy.Deliver) != 3 {
		t.Fatalf("deploy sinks: %d", len(deploy.Deliver))
	}
	if got, want := deploy.Deliver[0].Settings, (&gitlabvar.Config{Project: "platform/infra/app", Key: "REGISTRY_TOKEN", Masked: true, Protected: true, EnvironmentScope: "*"}); deploy.Deliver[0].Kind != "gitlab_variable" || !reflect.DeepEqual(got, want) {
		t.Errorf("variable sink = %+v", got)
	}
	if got, want := deploy.Deliver[1].Settings, (&file.Config{Path: filepath.Join(dir, "registry.env"), Format: "dotenv", Key: "REGISTRY_TOKEN", Mode: 0o600}); deploy.Deliver[1].Kind != "file" || !reflect.DeepEqual(got, want) {
		t.Errorf("file sink = %+v", got)
	}
	if got := deploy.Deliver[2].Settings; deploy.Deliver[2].Kind != "exec" || !reflect.DeepEqual(got, &exec.Config{Command: []string{"systemctl", "reload", "app"}, Env: "TOKEN", Timeout: 30 * time.Second}) {
		t.Errorf("exec sink = %+v", got)
	}
	if deploy.Deliver[2].Line != 19 {
		t.Errorf("exec sink line = %d", deploy.Deliver[2].Line)
	}
	if deploy.Verify == nil || *deploy.Verify != (Verify{Method: "GET", Path: "/projects/platform%2Finfra%2Fapp/registry/repositories"}) {
		t.Errorf("verify = %+v", deploy.Verify)
	}
	if bot.Strategy != "self" || bot.TokenFile != "/run/secrets/ci-bot" || bot.AccessLevel != 30 || bot.Lifetime != 14*day || bot.RotateBefore != 0 {
		// rotate_before: 0 means "one third", overriding the default.
		t.Errorf("bot = %+v", bot)
	}
	if mirror.AccessLevel != 40 || mirror.Strategy != "rotate" || mirror.Verify != nil {
		t.Errorf("mirror = %+v", mirror)
	}
	if f := mirror.Deliver[0].Settings.(*file.Config); f.Format != "raw" || f.Key != "" || !f.Newline || !f.AllowSharedDir {
		t.Errorf("raw file sink = %+v", f)
	}
	if g := mirror.Deliver[1].Settings.(*gitlabvar.Config); !g.Masked || !g.Hidden || g.EnvironmentScope != "production" || g.Group != "platform" {
		t.Errorf("hidden variable = %+v", g)
	}
	if c.Policy != (Policy{MaxLifetime: 180 * day, UnusedAfter: 90 * day}) {
		t.Errorf("policy = %+v", c.Policy)
	}
	if len(c.Notify) != 3 || c.Notify[0].Webhook.SecretEnv != "HOOK_SECRET" || c.Notify[1].Slack.WebhookURLFile != filepath.Join(dir, "slack.url") || c.Notify[2].Email.SMTPPort != 587 {
		t.Errorf("notify = %+v", c.Notify)
	}
	wantProxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::/8")}
	if !reflect.DeepEqual(c.Serve, Serve{Listen: ":9090", ScanInterval: time.Hour, ReadOnly: true, ScanVariables: true, TrustedProxies: wantProxies, MetricsTokens: MetricsTokensManaged}) {
		t.Errorf("serve = %+v", c.Serve)
	}
}

func TestMinimalDefaults(t *testing.T) {
	c, err := Parse("/etc/tw/config.yaml", []byte("gitlab: {url: https://gitlab.com, token_file: token}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "sqlite:///etc/tw/tokenwarden.db" || c.GitLab.TokenFile != "/etc/tw/token" {
		t.Errorf("paths not resolved against the config dir: %q %q", c.State, c.GitLab.TokenFile)
	}
	if c.Defaults != (Defaults{Lifetime: 90 * day, Strategy: "overlap", Grace: time.Hour}) {
		t.Errorf("defaults = %+v", c.Defaults)
	}
	if c.Serve.ScanInterval != time.Hour || c.Serve.Listen == "" || c.Serve.MetricsTokens != MetricsTokensAll {
		t.Errorf("serve = %+v", c.Serve)
	}
	if c.GitLab.ExpiresWarning != 30*day || c.GitLab.ExpiresCritical != 7*day || c.GitLab.SelfRotate {
		t.Errorf("managing token defaults = %+v", c.GitLab)
	}
	if c.GitLab.Timeout != 30*time.Second {
		t.Errorf("gitlab.timeout = %s, want the default 30s", c.GitLab.Timeout)
	}
	c, err = Parse("/etc/tw/config.yaml", []byte("gitlab: {url: https://gitlab.com, token_file: token, timeout: 5s}\n"))
	if err != nil || c.GitLab.Timeout != 5*time.Second {
		t.Errorf("gitlab.timeout: 5s gives %v, %v", c, err)
	}
}

func TestManagingTokenSettings(t *testing.T) {
	c, err := Parse("/etc/tw/config.yaml", []byte(`gitlab:
  url: https://gitlab.com
  token_file: token
  expires_warning: 60d
  expires_critical: 14d
  self_rotate: true
  lifetime: 120d
  rotate_before: 40d
  deliver:
    - file: {path: other.env, format: dotenv, key: GITLAB_TOKEN}
`))
	if err != nil {
		t.Fatal(err)
	}
	g := c.GitLab
	if g.ExpiresWarning != 60*day || g.ExpiresCritical != 14*day || !g.SelfRotate || g.Lifetime != 120*day || g.RotateBefore != 40*day {
		t.Errorf("gitlab = %+v", g)
	}
	if len(g.Deliver) != 1 || g.Deliver[0].Kind != "file" || g.Deliver[0].Settings.(*file.Config).Path != "/etc/tw/other.env" {
		t.Errorf("gitlab.deliver = %+v", g.Deliver)
	}
}

func TestErrorsCarryHints(t *testing.T) {
	_, err := Parse("c.yaml", []byte("gitlab: {url: https://g, token_env: T}\nfoo: 1\n"))
	errs := Errors(err)
	if len(errs) != 1 || errs[0].Error() != `c.yaml:2: config: unknown key "foo"` || errs[0].Hint == "" {
		t.Fatalf("errors = %#v", errs)
	}
	b, _ := json.Marshal(errs[0])
	if !strings.Contains(string(b), `"Hint"`) {
		t.Errorf("json %s", b)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("TW_TEST_SET", "glpat-fromenv")
	t.Setenv("TW_TEST_EMPTY", "")
	tests := []struct {
		name, env, file string
		want            string
		wantErr         string
	}{
		{"env", "TW_TEST_SET", "", "glpat-fromenv", ""},
		{"env unset", "TW_TEST_UNSET", "", "", "TW_TEST_UNSET is not set"},
		{"env empty", "TW_TEST_EMPTY", "", "", "TW_TEST_EMPTY is empty"},
		{"file, one newline trimmed", "", write("a", "glpat-file\n"), "glpat-file", ""},
		{"file, CRLF trimmed", "", write("b", "glpat-file\r\n"), "glpat-file", ""},
		{"file, only one newline trimmed", "", write("c", "glpat-file\n\n"), "glpat-file\n", ""},
		{"file empty", "", write("d", "\n"), "", "is empty"},
		{"file missing", "", filepath.Join(dir, "missing"), "", "missing"},
		{"nothing configured", "", "", "", "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadSecret(tt.env, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Reveal() != tt.want {
				t.Errorf("got %q, want %q", got.Reveal(), tt.want)
			}
		})
	}
}

func TestKeyFilePath(t *testing.T) {
	c := &Config{Path: "c.yaml", State: "sqlite:///var/lib/tw/state.db"}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	check := func(wantPath string, wantCreate bool) {
		t.Helper()
		p, create, err := c.KeyFilePath(getenv)
		if err != nil || p != wantPath || create != wantCreate {
			t.Errorf("KeyFilePath = %q, %v, %v; want %q, %v", p, create, err, wantPath, wantCreate)
		}
	}
	check("/var/lib/tw/state.key", true)
	c.KeyFile = "/etc/tw/key"
	check("/etc/tw/key", false)
	env[KeyFileEnv] = "/run/key"
	check("/run/key", false)
	pg := &Config{Path: "c.yaml", State: "postgres://tw:pw@db/tw"}
	if _, _, err := pg.KeyFilePath(getenv); err != nil {
		t.Errorf("env key not used for postgres: %v", err)
	}
	_, _, err := pg.KeyFilePath(func(string) string { return "" })
	if err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("postgres without key: err = %v (must exist and not show the password)", err)
	}
}

func TestSealerCreatesDefaultKey(t *testing.T) {
	dir := t.TempDir()
	c := &Config{Path: "c.yaml", State: "sqlite://" + filepath.Join(dir, "tw.db")}
	if _, err := c.Sealer(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "tw.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default key: %v %v", fi, err)
	}
	c.KeyFile = filepath.Join(dir, "explicit.key")
	if _, err := c.Sealer(func(string) string { return "" }); err == nil {
		t.Error("an explicit key_file that does not exist was created instead of reported")
	}
}

func TestAnchorsAndAliases(t *testing.T) {
	y := head + `tokens:
  - name: a
    group: g
    scopes: &s [read_api]
    deliver: &d
      - file: {path: /etc/a.env, key: A}
  - name: b
    group: g
    scopes: *s
    deliver: *d
`
	c, err := Parse("c.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if b := c.Tokens[1]; !reflect.DeepEqual(b.Scopes, []string{"read_api"}) || len(b.Deliver) != 1 || b.Deliver[0].Settings.(*file.Config).Path != "/etc/a.env" {
		t.Errorf("aliases not resolved: %+v", b)
	}
}

func TestGraceZeroIsKept(t *testing.T) {
	for _, tc := range []struct {
		name, defaults, token string
		want                  time.Duration
	}{
		{"unset", "", "", DefaultGrace},
		{"default zero", "defaults: {grace: 0s}\n", "", 0},
		{"token zero", "", "    grace: 0s\n", 0},
		{"token overrides default", "defaults: {grace: 2h}\n", "    grace: 30m\n", 30 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "gitlab: {url: https://gitlab.example.com, token_env: GITLAB_TOKEN}\n" + tc.defaults +
				"tokens:\n  - name: deploy\n    description: d\n    group: acme\n    scopes: [read_api]\n" + tc.token
			c, err := Parse("tw.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Tokens[0].Grace; got != tc.want {
				t.Fatalf("grace %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExecSinkOptions(t *testing.T) {
	y := head + "state: postgres://tw@db/tw\n" + tok + "    deliver:\n      - exec: {command: [reload], env_pass: [APP_ENV, LC_ALL, SMTP_PASSWORD], newline: true}\n"
	c, err := Parse("c.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	// SMTP_PASSWORD is no secret of this config: a hook may have it when asked.
	want := &exec.Config{Command: []string{"reload"}, EnvPass: []string{"APP_ENV", "LC_ALL", "SMTP_PASSWORD"}, Newline: true, Timeout: exec.DefaultTimeout}
	if got := c.Tokens[0].Deliver[0].Settings; !reflect.DeepEqual(got, want) {
		t.Errorf("exec sink = %+v, want %+v", got, want)
	}
}

func TestKubernetesSecretSinkOptions(t *testing.T) {
	dir := t.TempDir()
	y := head + tok + `    deliver:
      - kubernetes_secret:
          kubeconfig: kube/prod.yaml
          context: prod
          namespace: argocd
          name: repo-app
          format: argocd-repository
          url: https://gitlab.example.com/app.git
          labels: {team: platform, "example.com/tier": "1"}
          annotations:
            example.com/note: rotated by tokenwarden
          take_over: true
`
	c, err := Parse(filepath.Join(dir, "c.yaml"), []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := &kubesecret.Config{Kubeconfig: filepath.Join(dir, "kube/prod.yaml"), Context: "prod", Namespace: "argocd", Name: "repo-app",
		Format: kubesecret.FormatArgoCDRepository, URL: "https://gitlab.example.com/app.git", Type: "Opaque", Username: kubesecret.DefaultUsername,
		Labels: map[string]string{"team": "platform", "example.com/tier": "1"}, Annotations: map[string]string{"example.com/note": "rotated by tokenwarden"}, TakeOver: true}
	if got := c.Tokens[0].Deliver[0].Settings; !reflect.DeepEqual(got, want) {
		t.Errorf("kubernetes_secret sink =\n%+v\nwant\n%+v", got, want)
	}
}

// TestConcurrency: concurrency: is how many tokens apply and serve rotate at
// once; 4 when unset, and a clear error at its line outside 1..64.
func TestConcurrency(t *testing.T) {
	const head = "gitlab: {url: https://gitlab.com, token_file: token}\n"
	c, err := Parse("c.yaml", []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	if c.Concurrency != DefaultConcurrency {
		t.Errorf("default concurrency %d, want %d", c.Concurrency, DefaultConcurrency)
	}
	if c, err = Parse("c.yaml", []byte(head+"concurrency: 16\n")); err != nil || c.Concurrency != 16 {
		t.Fatalf("concurrency: 16 → %v, %v", c, err)
	}
	for _, bad := range []string{"0", "-2", "65", "many"} {
		_, err := Parse("c.yaml", []byte(head+"concurrency: "+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "c.yaml:2") || !strings.Contains(err.Error(), "concurrency") || strings.Count(err.Error(), "concurrency") > 2 {
			t.Errorf("concurrency: %s → %v, want one error at c.yaml:2", bad, err)
		}
	}
}
