package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, filepath.Dir(abs), data)
}

// Parse validates data as the configuration file called name; relative paths
// are resolved against name's directory.
func Parse(name string, data []byte) (*Config, error) {
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return parse(name, dir, data)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parse(name, dir string, data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, tooBig(name, int64(len(data)))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Line: 1, Msg: "the file is empty", Hint: "start from the example in the README"}
		}
		// yaml.v3 leaves the line out when the problem is on the first one.
		e := &Error{File: name, Line: 1, Msg: strings.TrimPrefix(err.Error(), "yaml: "), Hint: "this is not valid YAML; check indentation and quoting"}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		return nil, e
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: name, Line: extra.Line, Msg: "a second YAML document", Hint: "a config file holds one document; remove the --- separator"}
	}
	d := &decoder{file: name, dir: dir}
	c := &Config{Path: name}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.config(root, c)
	d.validate(root, c)
	if err := joinSorted(d.errs); err != nil {
		return nil, err
	}
	return c, nil
}

func (d *decoder) config(n *yaml.Node, c *Config) {
	var tokensNode, gitlabNode, stateNode, stateEnvNode *yaml.Node
	state := ""
	c.Defaults.Grace = DefaultGrace // set before decoding: an explicit "grace: 0" means revoke at once
	d.mapping(n, "config", map[string]field{
		"gitlab": func(_, v *yaml.Node) { gitlabNode = v; d.gitlab(v, &c.GitLab) },
		"state":  func(k, v *yaml.Node) { stateNode = k; d.str(&state, "state")(k, v) },
		"state_env": func(k, v *yaml.Node) {
			stateEnvNode = k
			d.env(&c.StateEnv, "state_env")(k, v)
		},
		"key_file": d.path(&c.KeyFile, "key_file"),
		"defaults": func(_, v *yaml.Node) { d.defaults(v, &c.Defaults) },
		"tokens":   func(_, v *yaml.Node) { tokensNode = v },
		"policy":   func(_, v *yaml.Node) { d.policy(v, &c.Policy) },
		"notify": func(_, v *yaml.Node) {
			d.sequence(v, "notify", func(i int, item *yaml.Node) { c.Notify = append(c.Notify, d.notify(item, i)) })
		},
		"serve": func(_, v *yaml.Node) { d.serve(v, &c.Serve) },
		"concurrency": func(k, v *yaml.Node) {
			n, reported := 0, len(d.errs)
			d.integer(&n, "concurrency")(k, v)
			switch {
			case len(d.errs) > reported: // not a number
			case n >= 1 && n <= MaxConcurrency:
				c.Concurrency = n
			default:
				d.errorf(v, fmt.Sprintf("use 1 to %d (default %d): the rotations share the managing token's rate limit, so more than a few gains little", MaxConcurrency, DefaultConcurrency),
					"concurrency must be between 1 and %d, not %s", MaxConcurrency, v.Value)
			}
		},
	})
	if gitlabNode == nil {
		d.errorf(n, "add gitlab: {url: https://gitlab.example.com, token_env: GITLAB_TOKEN}", "gitlab is required")
	}
	switch {
	case stateNode != nil && stateEnvNode != nil:
		d.errorf(stateEnvNode, "keep one: state for a URL without a password, state_env for the name of a variable holding the URL", "both state and state_env")
	case c.StateEnv != "":
		c.State = d.stateFromEnv(stateEnvNode, c.StateEnv)
	case stateEnvNode == nil:
		if stateNode == nil {
			stateNode = n
		}
		c.State = d.state(stateNode, state)
	}
	d.applyDefaults(c)
	d.collectSecretEnv(c, tokensNode)
	d.sequence(tokensNode, "tokens", func(i int, item *yaml.Node) {
		c.Tokens = append(c.Tokens, d.token(item, i, c.Defaults))
	})
}

func (d *decoder) applyDefaults(c *Config) {
	if c.Defaults.Lifetime == 0 {
		c.Defaults.Lifetime = DefaultLifetime
	}
	if c.Defaults.Strategy == "" {
		c.Defaults.Strategy = DefaultStrategy
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Serve.Listen == "" {
		c.Serve.Listen = DefaultListen
	}
	if c.Serve.ScanInterval == 0 {
		c.Serve.ScanInterval = DefaultScanInterval
	}
	if c.Serve.MetricsTokens == "" {
		c.Serve.MetricsTokens = MetricsTokensAll
	}
}

func (d *decoder) state(n *yaml.Node, s string) string {
	if s == "" {
		s = DefaultState
	}
	switch {
	case strings.HasPrefix(s, "sqlite://"):
		p := strings.TrimPrefix(s, "sqlite://")
		if p == "" {
			d.errorf(n, "write sqlite://tokenwarden.db (relative to the config file) or sqlite:///var/lib/tokenwarden/state.db", "state: sqlite:// needs a file path")
			return s
		}
		return "sqlite://" + d.abs(p)
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if u, err := url.Parse(s); err == nil {
			_, inUser := u.User.Password()
			if inUser || u.Query().Has("password") {
				d.errorf(n, "put the password in PGPASSWORD or ~/.pgpass, not in the config", "state: secret written inline (a password in the postgres URL)")
			}
		}
		return s
	}
	d.errorf(n, "write sqlite://PATH or postgres://HOST/DB", "state: unsupported %q", s)
	return s
}

// stateFromEnv reads the state's URL from the environment variable name
// (state_env). A password may be in it: the variable comes from a secret
// store (a masked CI/CD variable, a Kubernetes Secret), and no message quotes
// its value.
func (d *decoder) stateFromEnv(n *yaml.Node, name string) string {
	s, ok := os.LookupEnv(name)
	switch {
	case !ok || s == "":
		d.errorf(n, fmt.Sprintf("export %s=postgres://USER:PASSWORD@HOST/DB (or sqlite:///PATH)", name), "state_env: environment variable %s is not set", name)
	case strings.HasPrefix(s, "sqlite://"):
		if p := strings.TrimPrefix(s, "sqlite://"); p != "" {
			return "sqlite://" + d.abs(p)
		}
		d.errorf(n, "write sqlite:///var/lib/tokenwarden/state.db", "state_env: %s holds sqlite:// without a file path", name)
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err == nil {
			return s
		}
		d.errorf(n, "write postgres://USER:PASSWORD@HOST/DB?sslmode=verify-full (URL-encode special characters of the password)", "state_env: %s is not a valid URL", name)
	default:
		d.errorf(n, "write sqlite://PATH or postgres://USER:PASSWORD@HOST/DB", "state_env: %s holds neither a sqlite:// nor a postgres:// URL", name)
	}
	return ""
}

func (d *decoder) gitlab(n *yaml.Node, g *GitLab) {
	g.Line = resolve(n).Line
	var deliverNode, selfRotateNode *yaml.Node
	if !d.mapping(n, "gitlab", map[string]field{
		"url":              d.str(&g.URL, "gitlab.url"),
		"token_env":        d.env(&g.TokenEnv, "gitlab.token_env"),
		"token_file":       d.path(&g.TokenFile, "gitlab.token_file"),
		"expires_warning":  d.dur(&g.ExpiresWarning, "gitlab.expires_warning"),
		"expires_critical": d.dur(&g.ExpiresCritical, "gitlab.expires_critical"),
		"self_rotate":      func(k, v *yaml.Node) { selfRotateNode = k; d.boolean(&g.SelfRotate, "gitlab.self_rotate")(k, v) },
		"lifetime":         d.dur(&g.Lifetime, "gitlab.lifetime"),
		"rotate_before":    d.dur(&g.RotateBefore, "gitlab.rotate_before"),
		"deliver":          func(_, v *yaml.Node) { deliverNode = v },
		"timeout": func(k, v *yaml.Node) {
			d.dur(&g.Timeout, "gitlab.timeout")(k, v)
			switch {
			case g.Timeout == 0:
			case g.Timeout < time.Second:
				d.errorf(v, "a request to GitLab takes longer than that; use a few seconds or more (default 30s)", "gitlab.timeout %s is shorter than a second", g.Timeout)
			case g.Timeout > MaxGitLabTimeout:
				d.errorf(v, "use 10m or less: a GitLab that does not answer for minutes is down, and a longer wait only holds the run up", "gitlab.timeout %s is longer than %s", g.Timeout, MaxGitLabTimeout)
			}
		},
	}) {
		return
	}
	if g.Timeout == 0 {
		g.Timeout = DefaultGitLabTimeout
	}
	d.sequence(deliverNode, "gitlab.deliver", func(j int, item *yaml.Node) {
		g.Deliver = append(g.Deliver, d.sink(item, fmt.Sprintf("gitlab.deliver[%d]", j)))
	})
	d.noUsername(g.Deliver, "gitlab", "the managing token is a personal access token, which has no username")
	if g.ExpiresWarning == 0 {
		g.ExpiresWarning = DefaultManagingWarning
	}
	if g.ExpiresCritical == 0 {
		g.ExpiresCritical = DefaultManagingCritical
	}
	if g.ExpiresCritical > g.ExpiresWarning {
		d.errorf(n, "expires_critical is the shorter threshold (default 7d), expires_warning the longer (default 30d)", "gitlab: expires_critical is longer than expires_warning")
	}
	d.lifetime(n, "gitlab", g.Lifetime, g.RotateBefore)
	if g.SelfRotate && g.TokenFile == "" {
		d.errorf(selfRotateNode, "self_rotate rewrites the file the token is read from: use token_file: PATH instead of token_env", "gitlab.self_rotate needs gitlab.token_file")
	}
	if len(g.Deliver) > 0 && !g.SelfRotate {
		d.errorf(deliverNode, "add self_rotate: true (tokenwarden delivers the managing token when it renews it)", "gitlab.deliver without gitlab.self_rotate")
	}
	switch {
	case g.URL == "":
		d.errorf(n, "add url: https://gitlab.example.com", "gitlab.url is required")
	case d.httpURL(n, "gitlab.url", g.URL):
		g.URL = strings.TrimRight(g.URL, "/")
		if strings.HasSuffix(g.URL, "/api/v4") {
			d.errorf(n, "write the instance URL without /api/v4: "+strings.TrimSuffix(g.URL, "/api/v4"), "gitlab.url ends with /api/v4")
		}
	}
	d.secretRef(n, "gitlab", "token", g.TokenEnv, g.TokenFile, true)
}

func (d *decoder) defaults(n *yaml.Node, df *Defaults) {
	var adopt string
	d.mapping(n, "defaults", map[string]field{
		"lifetime":      d.dur(&df.Lifetime, "defaults.lifetime"),
		"rotate_before": d.dur(&df.RotateBefore, "defaults.rotate_before"),
		"strategy":      d.strategy(&df.Strategy, "defaults.strategy"),
		"grace":         d.dur(&df.Grace, "defaults.grace"),
		"adopt":         d.adopt(&adopt, "defaults.adopt"),
	})
	df.AdoptWait = adopt == AdoptWait
	d.lifetime(n, "defaults", df.Lifetime, df.RotateBefore)
}

func (d *decoder) strategy(dst *Strategy, where string) field {
	return func(k, v *yaml.Node) {
		var s string
		d.str(&s, where)(k, v)
		switch {
		case Strategy(s).Valid():
			*dst = Strategy(s)
		case s == "":
		default:
			d.errorf(v, "strategies: overlap (default: new token, deliver, verify, revoke the old after grace), rotate (GitLab's rotate endpoint), self (the token rotates itself), reset (runner tokens)", "%s: unknown strategy %q", where, s)
		}
	}
}

// adopt decodes adopt: deliver | wait.
func (d *decoder) adopt(dst *string, where string) field {
	return func(k, v *yaml.Node) {
		var s string
		d.str(&s, where)(k, v)
		switch s {
		case AdoptDeliver, AdoptWait, "":
			*dst = s
		default:
			d.errorf(v, "adopt: deliver (default: an adopted token whose secret tokenwarden never knew is rotated at once so that its sinks get one) or adopt: wait (its sinks get a secret at the next scheduled rotation)", "%s: unknown value %q", where, s)
		}
	}
}

// lifetime checks a lifetime / rotate_before pair (zero means unset).
func (d *decoder) lifetime(n *yaml.Node, where string, l, b time.Duration) {
	switch {
	case l > MaxLifetime:
		d.errorf(n, "GitLab accepts an expiry at most 365 days ahead; use lifetime: 365d or less", "%s: lifetime over 365 days", where)
	case l != 0 && l < 24*time.Hour:
		d.errorf(n, "GitLab tokens expire on a date; use lifetime: 1d or more", "%s: lifetime shorter than a day", where)
	case l != 0 && b >= l:
		d.errorf(n, "rotate_before must be shorter than lifetime, or leave it out to rotate when a third of the lifetime is left", "%s: rotate_before is not shorter than lifetime", where)
	}
}

func (d *decoder) policy(n *yaml.Node, p *Policy) {
	d.mapping(n, "policy", map[string]field{
		"enforce":          d.boolean(&p.Enforce, "policy.enforce"),
		"max_lifetime":     d.dur(&p.MaxLifetime, "policy.max_lifetime"),
		"unused_after":     d.dur(&p.UnusedAfter, "policy.unused_after"),
		"expires_warning":  d.dur(&p.ExpiresWarning, "policy.expires_warning"),
		"expires_critical": d.dur(&p.ExpiresCritical, "policy.expires_critical"),
	})
	if p.ExpiresWarning != 0 && p.ExpiresCritical > p.ExpiresWarning {
		d.errorf(n, "expires_critical is the shorter threshold (default 7d), expires_warning the longer (default 30d)", "policy: expires_critical is longer than expires_warning")
	}
}

func (d *decoder) serve(n *yaml.Node, s *Serve) {
	inventory := !s.NoCredentialsInventory
	d.mapping(n, "serve", map[string]field{
		"listen":          d.str(&s.Listen, "serve.listen"),
		"scan_interval":   d.dur(&s.ScanInterval, "serve.scan_interval"),
		"read_only":       d.boolean(&s.ReadOnly, "serve.read_only"),
		"scan_variables":  d.boolean(&s.ScanVariables, "serve.scan_variables"),
		"password_env":    d.env(&s.PasswordEnv, "serve.password_env"),
		"password_file":   d.path(&s.PasswordFile, "serve.password_file"),
		"trusted_proxies": d.networks(&s.TrustedProxies, "serve.trusted_proxies"),
		"metrics_tokens":  d.str(&s.MetricsTokens, "serve.metrics_tokens"),
		"kinds":           d.kinds(&s.Kinds, "serve.kinds"),

		"credentials_inventory": d.boolean(&inventory, "serve.credentials_inventory"),
	})
	s.NoCredentialsInventory = !inventory
	d.secretRef(n, "serve", "password", s.PasswordEnv, s.PasswordFile, false)
	switch s.MetricsTokens {
	case "", MetricsTokensAll, MetricsTokensManaged:
	default:
		d.errorf(n, "use metrics_tokens: managed (per-token series only for the tokens the config manages) or all (the default)",
			"serve.metrics_tokens must be managed or all, not %q", s.MetricsTokens)
	}
}

func (d *decoder) notify(n *yaml.Node, i int) Notify {
	where := fmt.Sprintf("notify[%d]", i)
	nt := Notify{Line: n.Line}
	d.oneOf(n, where, map[string]field{
		"webhook": func(_, v *yaml.Node) {
			w := &WebhookNotify{}
			nt.Webhook = w
			d.mapping(v, where+".webhook", map[string]field{
				"url":         d.str(&w.URL, where+".webhook.url"),
				"secret_env":  d.env(&w.SecretEnv, where+".webhook.secret_env"),
				"secret_file": d.path(&w.SecretFile, where+".webhook.secret_file"),
			})
			if w.URL == "" {
				d.errorf(v, "add url: https://…", "%s.webhook.url is required", where)
			} else {
				d.httpURL(v, where+".webhook.url", w.URL)
			}
			d.secretRef(v, where+".webhook", "secret", w.SecretEnv, w.SecretFile, false)
		},
		"slack": func(_, v *yaml.Node) {
			s := &SlackNotify{}
			nt.Slack = s
			d.mapping(v, where+".slack", map[string]field{
				"webhook_url_env":  d.env(&s.WebhookURLEnv, where+".slack.webhook_url_env"),
				"webhook_url_file": d.path(&s.WebhookURLFile, where+".slack.webhook_url_file"),
			})
			d.secretRef(v, where+".slack", "webhook_url", s.WebhookURLEnv, s.WebhookURLFile, true)
		},
		"email": func(_, v *yaml.Node) {
			e := &EmailNotify{}
			nt.Email = e
			d.mapping(v, where+".email", map[string]field{
				"smtp_host":     d.str(&e.SMTPHost, where+".email.smtp_host"),
				"smtp_port":     d.integer(&e.SMTPPort, where+".email.smtp_port"),
				"from":          d.str(&e.From, where+".email.from"),
				"to":            d.strings(&e.To, where+".email.to"),
				"username":      d.str(&e.Username, where+".email.username"),
				"password_env":  d.env(&e.PasswordEnv, where+".email.password_env"),
				"password_file": d.path(&e.PasswordFile, where+".email.password_file"),
			})
			if e.SMTPPort == 0 {
				e.SMTPPort = DefaultSMTPPort
			}
			if e.SMTPHost == "" {
				d.errorf(v, "add smtp_host: smtp.example.com", "%s.email.smtp_host is required", where)
			}
			if e.SMTPPort < 1 || e.SMTPPort > 65535 {
				d.errorf(v, "", "%s.email.smtp_port %d is not a port", where, e.SMTPPort)
			}
			if e.From == "" {
				d.errorf(v, "add from: tokenwarden@example.com", "%s.email.from is required", where)
			}
			if len(e.To) == 0 {
				d.errorf(v, "add to: [ops@example.com]", "%s.email.to needs at least one address", where)
			}
			d.secretRef(v, where+".email", "password", e.PasswordEnv, e.PasswordFile, e.Username != "")
		},
	})
	return nt
}

// oneOf handles a mapping that must have exactly one of the given keys.
func (d *decoder) oneOf(n *yaml.Node, where string, kinds map[string]field) {
	n = resolve(n)
	count := 0
	wrapped := map[string]field{}
	for k, f := range kinds {
		wrapped[k] = func(key, val *yaml.Node) { count++; f(key, val) }
	}
	if !d.mapping(n, where, wrapped) {
		return
	}
	names := keysOf(kinds)
	switch {
	case count == 0:
		d.errorf(n, "use one of: "+strings.Join(names, ", "), "%s is empty", where)
	case count > 1:
		d.errorf(n, "split it into one list item per "+strings.Join(names, " / "), "%s has more than one of %s", where, strings.Join(names, ", "))
	}
}

// networks reads a list of networks in CIDR notation; a bare address is
// that one host.
func (d *decoder) networks(dst *[]netip.Prefix, where string) field {
	return func(_, v *yaml.Node) {
		if r := resolve(v); r != nil && r.Kind == yaml.ScalarNode && !isNull(r) {
			d.errorf(v, fmt.Sprintf("write a list: [%s]", r.Value), "%s must be a list, not %s", where, kindName(r))
			return
		}
		d.sequence(v, where, func(i int, item *yaml.Node) {
			s, ok := d.scalar(item, fmt.Sprintf("%s[%d]", where, i))
			if !ok {
				return
			}
			s = strings.TrimSpace(s)
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil || a.Zone() != "" {
					d.errorf(item, "write an address or a network in CIDR notation, e.g. 10.0.0.0/8, 192.0.2.7 or fd00::/8",
						"%s[%d]: %q is not an IP address or network", where, i, s)
					return
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			if p != p.Masked() {
				d.errorf(item, fmt.Sprintf("write %s for the network, or %s for the one host", p.Masked(), p.Addr()),
					"%s[%d]: %q has bits set after the /%d", where, i, s, p.Bits())
				return
			}
			*dst = append(*dst, p)
		})
	}
}

// MaxFileSize is the largest config file Load and Parse accept. Real configs
// are a few KiB; parsing tens of MiB of YAML takes seconds and gigabytes.
const MaxFileSize = 1 << 20

// readFile reads path, refusing a file over MaxFileSize before reading it
// (and, for a file that grows or is not a regular file, while reading it).
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, tooBig(path, fi.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooBig(path, -1)
	}
	return data, nil
}

// tooBig is the error for a file over MaxFileSize; size < 0: unknown.
func tooBig(name string, size int64) error {
	what := "the file is over"
	if size >= 0 {
		what = fmt.Sprintf("the file is %.1f MiB, over", float64(size)/(1<<20))
	}
	return &Error{File: name, Msg: fmt.Sprintf("%s the %d MiB limit for a config file", what, MaxFileSize>>20),
		Hint: "a config is a few KiB: check that -c names the config file and not a log, a database or a device"}
}
