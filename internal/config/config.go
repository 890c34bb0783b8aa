// Package config owns tokenwarden's YAML configuration file: it reads it
// strictly (unknown keys, bad scopes, inline secrets … are rejected with the
// file, the line and a hint), fills in defaults, and resolves the secrets the
// file refers to by environment variable or file.
//
// A deliver: entry is the one part of the file config does not know: each
// sink package (internal/sink/file, exec, gitlabvar) owns its YAML-tagged
// Config, its defaults and its Validate. internal/sink/all registers those
// kinds here (RegisterSinkKind) when it is loaded; config decodes an entry
// into its kind's Config with the same line-accurate checks as every other
// section, and reports the kind's problems at the lines of their keys. The
// dependency points down: the sinks import neither config nor sink/all, and
// config imports no sink, so it stays below them. The one check that needs
// the whole file — an exec hook's env_pass naming a variable that holds one
// of tokenwarden's own secrets — stays here (see EnvPasser).
package config

import (
	"net/netip"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
)

// Defaults that apply when the file does not say otherwise.
const (
	DefaultLifetime     = 90 * 24 * time.Hour
	DefaultStrategy     = StrategyOverlap
	DefaultGrace        = time.Hour
	DefaultAccessLevel  = 40 // maintainer
	DefaultScanInterval = time.Hour
	DefaultListen       = "127.0.0.1:8484"
	DefaultState        = "sqlite://tokenwarden.db"
	DefaultSMTPPort     = 587
	// DefaultConcurrency is how many tokens apply and serve rotate at once
	// (concurrency:); MaxConcurrency is the most accepted.
	DefaultConcurrency = 4
	MaxConcurrency     = 64
	// DefaultGitLabTimeout bounds each request to GitLab (gitlab.timeout).
	DefaultGitLabTimeout = 30 * time.Second
	// MaxGitLabTimeout is the longest gitlab.timeout accepted.
	MaxGitLabTimeout = 10 * time.Minute
	// MaxLifetime is GitLab's limit: expires_at at most today + 365 days.
	MaxLifetime = 365 * 24 * time.Hour
	// KeyFileEnv overrides key_file.
	KeyFileEnv = "TOKENWARDEN_KEY_FILE"
	// KeyEnv holds the age identity itself (AGE-SECRET-KEY-1…), e.g. from a
	// Kubernetes Secret, whose files cannot have the mode a key file needs;
	// it takes precedence over KeyFileEnv and key_file.
	KeyEnv = "TOKENWARDEN_KEY"
)

// Strategy is how a token is rotated (strategy:). The journal stores it as
// its string.
type Strategy string

// Rotation strategies.
const (
	// StrategyOverlap creates a new token, delivers and verifies it, and
	// revokes the old one after the grace period.
	StrategyOverlap Strategy = "overlap"
	// StrategyRotate uses GitLab's rotate endpoint (the old token dies at once).
	StrategyRotate Strategy = "rotate"
	// StrategySelf has the token rotate itself with its own secret.
	StrategySelf Strategy = "self"
	// StrategyReset resets a runner's authentication token (kind:
	// runner_token): like rotate, the old token dies at once.
	StrategyReset Strategy = "reset"
)

// Strategies are the rotation strategies, in the order the docs give them.
var Strategies = []Strategy{StrategyOverlap, StrategyRotate, StrategySelf, StrategyReset}

// Valid reports whether s is one of Strategies.
func (s Strategy) Valid() bool { return slices.Contains(Strategies, s) }

// Adoption policies (adopt:).
const (
	AdoptDeliver = "deliver"
	AdoptWait    = "wait"
)

// Config is a validated configuration file. Relative paths in it (state,
// key_file, every *_file and file sink path) are already resolved against the
// directory of the file.
type Config struct {
	Path   string // the file it was read from
	GitLab GitLab
	State  string // "sqlite:///abs/path.db" or "postgres://…"
	// StateEnv names the environment variable State was read from
	// (state_env): its URL may carry a password, it is a secret.
	StateEnv string
	KeyFile  string // "" → see KeyFilePath
	Defaults Defaults
	Tokens   []Token
	Policy   Policy
	Notify   []Notify
	Serve    Serve
	// Concurrency is how many tokens apply and serve rotate at once, each
	// token's steps in order (concurrency:, default DefaultConcurrency).
	Concurrency int
}

// GitLab is the instance and the managing token.
type GitLab struct {
	URL       string // without a trailing slash and without /api/v4
	TokenEnv  string // exactly one of TokenEnv, TokenFile
	TokenFile string
	// ExpiresWarning / ExpiresCritical: how long before the managing token
	// expires every command warns (0: the defaults, 30 and 7 days).
	ExpiresWarning  time.Duration
	ExpiresCritical time.Duration
	// SelfRotate: tokenwarden renews the managing token itself (needs
	// TokenFile, which it rewrites) inside RotateBefore of its expiry
	// (0: a third of its lifetime, as for managed tokens).
	SelfRotate   bool
	Lifetime     time.Duration // of each renewed managing token; 0: the defaults' lifetime
	RotateBefore time.Duration
	// Deliver lists other consumers of the managing token, updated after
	// each renewal.
	Deliver []Sink
	// Timeout bounds each request to GitLab (the answer and its body).
	Timeout time.Duration
	Line    int
}

// Default thresholds for the managing token's expiry.
const (
	DefaultManagingWarning  = 30 * 24 * time.Hour
	DefaultManagingCritical = 7 * 24 * time.Hour
)

// Defaults apply to every token that does not set its own value.
type Defaults struct {
	Lifetime     time.Duration
	RotateBefore time.Duration // 0: one third of the lifetime
	Strategy     Strategy
	Grace        time.Duration
	AdoptWait    bool // adopt: wait
}

// Policy is what scan measures tokens against. Zero values mean "use the
// built-in default" (decided by the policy package).
type Policy struct {
	// Enforce makes a managed token that scan would flag by its
	// configuration (PolicyWarnings) a config error.
	Enforce         bool
	MaxLifetime     time.Duration
	UnusedAfter     time.Duration
	ExpiresWarning  time.Duration
	ExpiresCritical time.Duration
}

// Token is one managed group or project access token.
type Token struct {
	Name string
	// Kind is "" (the access token of Group or Project),
	// group_access_token, project_access_token, deploy_token,
	// trigger_token, service_account_token or runner_token.
	Kind string
	// Runner is the id of the runner whose authentication token this is
	// (kind: runner_token only; it has neither Group nor Project).
	Runner int
	// Username is a deploy token's username ("" → GitLab's
	// gitlab+deploy-token-N); deploy tokens only.
	Username    string
	Description string
	Group       string // exactly one of Group, Project (full path); a service account's top-level group, if any
	Project     string
	// ServiceAccount is the username of the service account whose
	// personal access token this is (kind service_account_token only):
	// one provisioned by Group, or an instance one when Group is "".
	ServiceAccount string
	Scopes         []string
	AccessLevel    int // 10 guest … 50 owner

	Lifetime     time.Duration
	RotateBefore time.Duration // 0: one third of the lifetime
	Grace        time.Duration
	Strategy     Strategy
	// AdoptWait (adopt: wait) leaves the sinks of an adopted token, whose
	// secret tokenwarden never knew, alone until its next scheduled
	// rotation. The default (adopt: deliver) rotates at once to obtain a
	// secret and deliver it.
	AdoptWait bool

	// TokenEnv / TokenFile: where the token's own current secret is read
	// (strategy self only).
	TokenEnv  string
	TokenFile string

	Deliver []Sink
	Verify  *Verify // nil: the engine's default check
	Line    int

	keyLines map[string]int // line of each key the file sets
}

// lineOf is the line of the first of keys the file sets, else the token's.
func (t Token) lineOf(keys ...string) int {
	for _, k := range keys {
		if l, ok := t.keyLines[k]; ok {
			return l
		}
	}
	return t.Line
}

// ResourceType is "group" or "project"; "user" for a service account's
// token (as scan's rows of personal access tokens name it), "runner" for a
// runner token.
func (t Token) ResourceType() string {
	switch {
	case t.IsServiceAccountToken():
		return "user"
	case t.IsRunnerToken():
		return "runner"
	case t.Group != "":
		return "group"
	}
	return "project"
}

// ResourcePath is the full path of the group or project; a service
// account's username; a runner token's runner id.
func (t Token) ResourcePath() string {
	switch {
	case t.IsServiceAccountToken():
		return t.ServiceAccount
	case t.IsRunnerToken():
		if t.Runner <= 0 {
			return ""
		}
		return strconv.Itoa(t.Runner)
	case t.Group != "":
		return t.Group
	}
	return t.Project
}

// Ref names the token in commands and in the journal:
// "group/platform/infra:deploy" or "project/platform/infra/app:deploy".
//
// The ref of a kind other than an access token names its kind
// (project/acme/app:deploy_token:pull, project/acme/app:trigger_token:nightly,
// user/svc-ci:service_account_token:ci), so that it never shares a journal
// history with an access token of the same name.
func (t Token) Ref() string {
	if !t.IsAccessToken() {
		return t.ResourceType() + "/" + t.ResourcePath() + ":" + t.Kind + ":" + t.Name
	}
	return t.ResourceType() + "/" + t.ResourcePath() + ":" + t.Name
}

// IsAccessToken reports whether t is a group or project access token (no
// kind:, or the access-token kind of its resource).
func (t Token) IsAccessToken() bool {
	return t.Kind == "" || t.Kind == gitlab.KindGroupAccessToken || t.Kind == gitlab.KindProjectAccessToken
}

// IsDeployToken reports whether t is a deploy token (kind: deploy_token).
func (t Token) IsDeployToken() bool { return t.Kind == gitlab.KindDeployToken }

// IsTriggerToken reports whether t is a pipeline trigger token (kind: trigger_token).
func (t Token) IsTriggerToken() bool { return t.Kind == gitlab.KindTriggerToken }

// IsServiceAccountToken reports whether t is a service account's personal
// access token (kind: service_account_token).
func (t Token) IsServiceAccountToken() bool { return t.Kind == gitlab.KindServiceAccountToken }

// OverlapOnly reports whether GitLab has no rotate endpoint for t's kind
// (deploy and trigger tokens): it is rotated by overlap only.
func (t Token) OverlapOnly() bool { return t.IsDeployToken() || t.IsTriggerToken() }

// IsRunnerToken reports whether t is a runner's authentication token
// (kind: runner_token): its ref is runner/ID:runner_token:NAME.
func (t Token) IsRunnerToken() bool { return t.Kind == "runner_token" }

// Verify is the request made with a new token to prove it works.
type Verify struct {
	Method string // GET unless set
	Path   string // relative to /api/v4, starting with "/"
}

// Sink is one deliver: entry: its kind and its settings. The settings
// belong to the sink package of that kind (file.Config, exec.Config,
// gitlabvar.Config): config decodes the entry's node into the value the
// kind registered (RegisterSinkKind), reporting each problem at its line.
type Sink struct {
	Kind     string       // "gitlab_variable", "file", "exec"
	Node     *yaml.Node   // the settings as written
	Settings SinkSettings // decoded, completed and validated
	Line     int
}

// SinkSettings is a sink kind's settings: a pointer to a struct whose
// fields carry yaml tags (string, bool, int, []string, time.Duration or
// os.FileMode; a string field tagged `config:"path"` is a path, resolved
// against the config file's directory).
type SinkSettings interface {
	// Complete fills in what the settings imply (defaults that depend on
	// other settings).
	Complete()
	// Validate reports every problem, each naming its key.
	Validate() []problem.Problem
}

// EnvPasser is implemented by settings that hand variables of tokenwarden's
// environment to a program (exec's env_pass): config refuses those that hold
// one of the secrets the file names, which only it knows. key is the
// setting that names them.
type EnvPasser interface {
	PassesEnv() (key string, names []string)
}

// UsernameDeliverer is implemented by settings that can deliver a username
// next to the token (a username_key, Docker's auth): DeliversUsername names
// the setting that asks for one, or "". config refuses such an entry on a
// token that has no username — only a deploy token has one.
type UsernameDeliverer interface {
	DeliversUsername() (key string)
}

// Notify is one notification channel; exactly one field is set.
type Notify struct {
	Webhook *WebhookNotify
	Slack   *SlackNotify
	Email   *EmailNotify
	Line    int
}

// WebhookNotify posts JSON, signed with HMAC when a secret is set.
type WebhookNotify struct {
	URL        string
	SecretEnv  string // at most one of SecretEnv, SecretFile
	SecretFile string
}

// SlackNotify posts to a Slack incoming webhook, whose URL is a secret.
type SlackNotify struct {
	WebhookURLEnv  string // exactly one
	WebhookURLFile string
}

// EmailNotify sends mail over SMTP.
type EmailNotify struct {
	SMTPHost     string
	SMTPPort     int
	From         string
	To           []string
	Username     string
	PasswordEnv  string // at most one; required with Username
	PasswordFile string
}

// Serve configures the daemon.
type Serve struct {
	Listen       string
	ScanInterval time.Duration
	ReadOnly     bool
	// ScanVariables: every scan also reads the CI/CD variables and
	// reports where each token lives (scan --variables).
	ScanVariables bool
	PasswordEnv   string // operator password for the dashboard; at most one
	PasswordFile  string
	// TrustedProxies are the reverse proxies in front of the dashboard:
	// only from a peer inside one of them is X-Forwarded-For believed.
	TrustedProxies []netip.Prefix
	// MetricsTokens says which tokens get per-token series on /metrics:
	// MetricsTokensAll (the default) or MetricsTokensManaged — on an
	// instance of 100,000 tokens, all of them make /metrics tens of MB.
	MetricsTokens string
	// Kinds are the credential kinds each scan lists (gitlab.Kinds
	// names; "all" is every kind). Empty: see Config.ServeKinds.
	Kinds []string
	// NoCredentialsInventory (serve.credentials_inventory: false): each
	// scan lists every group's and project's access tokens, even where
	// GitLab.com's group credentials inventory answers (scan
	// --no-credentials-inventory).
	NoCredentialsInventory bool
}

// serve.metrics_tokens values.
const (
	MetricsTokensAll     = "all"
	MetricsTokensManaged = "managed"
)
