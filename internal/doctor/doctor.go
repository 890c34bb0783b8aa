// Package doctor owns `tokenwarden doctor`: the troubleshooting checklist for
// a GitLab token that a consumer (a pipeline, a script, a service) holds. It
// runs a chain of small named checks in a fixed order — the token is present,
// clean, shaped like a GitLab token, the instance answers, GitLab accepts the
// token, its scopes cover what the consumer needs, and it reaches the
// resource with a high enough role — and stops at the first blocking
// problem, naming one concrete fix for it. The token value never leaves this
// package except towards GitLab; reports carry at most secret.Secret.Hint.
package doctor

import (
	"context"
	"net/http"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Status is the outcome of one check.
type Status string

const (
	StatusOK      Status = "ok"
	StatusWarning Status = "warning" // a problem that does not stop the token from working
	StatusFailed  Status = "failed"  // a blocking problem: the token cannot work as it is
	StatusSkipped Status = "skipped" // not run because an earlier check failed
)

// Result is what one check found.
type Result struct {
	Name     string `json:"name"`   // stable id: present, clean, shape, instance, valid, scopes, access
	Title    string `json:"title"`  // what the check is about, for people
	Status   Status `json:"status"` // ok, warning, failed, skipped
	OK       bool   `json:"ok"`
	Blocking bool   `json:"blocking"`
	Detail   string `json:"detail,omitempty"`
	Fix      string `json:"fix,omitempty"` // one concrete fix, set for failures and warnings
}

// Origin says where the token was read from.
type Origin struct {
	Kind  string // "env", "file" or "stdin"
	Name  string // the variable name or the file path ("" for stdin)
	Found bool   // the variable is set / the file exists
	Err   error  // reading failed (file unreadable, stdin closed …)
}

// Label names the origin for people: "GITLAB_TOKEN", "file token.txt", "stdin".
func (o Origin) Label() string {
	switch o.Kind {
	case "env":
		return o.Name
	case "file":
		return "file " + o.Name
	default:
		return "the token on stdin"
	}
}

// Input is the token under examination and what it is meant for.
type Input struct {
	Token     secret.Secret
	Origin    Origin
	URL       string // instance root, e.g. https://gitlab.example.com
	URLSource string // "--url", "GITLAB_URL", "CI_SERVER_URL"
	InCI      bool   // running inside a GitLab CI job (GITLAB_CI=true)
	Needs     []Need // from --need; see ParseNeeds
	Project   string // full path the token must reach, or ""
	Group     string // full path the token must reach, or ""
	// Lookup is an optional administrator token used only to find out when
	// an expired or revoked token expired (GitLab's token information API);
	// GitLab refuses to say anything about a token to the token itself once
	// it has expired.
	Lookup secret.Secret
	// Username goes with a deploy token (gldt-): Git and the registry take
	// it with the token. UsernameSource says where it came from
	// ("--username", "CI_DEPLOY_USER").
	Username, UsernameSource string
}

// Config holds what the checks need from outside.
type Config struct {
	Clock      clock.Clock  // nil → clock.Real{}
	HTTPClient *http.Client // nil → a client with Timeout
	// Timeout bounds each request to GitLab; 0 → DefaultTimeout.
	Timeout time.Duration
	// ExpiryWarning is how close to its expiry a token gets a warning; 0 → 30 days.
	ExpiryWarning time.Duration
}

// Report is the whole checklist.
type Report struct {
	Source  string   `json:"source"`          // Origin.Label
	Token   string   `json:"token,omitempty"` // secret.Secret.Hint: prefix and last 4 at most
	URL     string   `json:"url,omitempty"`
	Healthy bool     `json:"healthy"` // no blocking problem (warnings allowed)
	Checks  []Result `json:"checks"`
}

// Warnings counts the non-blocking problems.
func (r Report) Warnings() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == StatusWarning {
			n++
		}
	}
	return n
}

// Failure returns the blocking result, if any.
func (r Report) Failure() (Result, bool) {
	for _, c := range r.Checks {
		if c.Status == StatusFailed {
			return c, true
		}
	}
	return Result{}, false
}

// step is one named check of the chain.
type step struct {
	name, title string
	run         func(ctx context.Context, s *session) Result
	// deploy, when set, runs instead of run for a deploy token (gldt-),
	// which GitLab checks by other means than an access token.
	deploy func(ctx context.Context, s *session) Result
}

// steps is the chain, in the order issue 5 lists them.
var steps = []step{
	{"present", "token present", checkPresent, nil},
	{"clean", "no stray whitespace, quotes or prefix", checkClean, nil},
	{"shape", "looks like a GitLab access token", checkShape, nil},
	{"instance", "GitLab instance reachable", checkInstance, nil},
	{"valid", "token accepted by GitLab", checkValid, checkDeployValid},
	{"scopes", "scopes cover what is needed", checkScopes, checkDeployScopes},
	{"access", "reaches the project or group", checkAccess, checkDeployAccess},
}

// Run examines the token and returns the checklist. It never returns the
// token's value in any field.
func Run(ctx context.Context, in Input, cfg Config) Report {
	s := newSession(in, cfg)
	rep := Report{Source: in.Origin.Label(), URL: s.baseURL}
	if !in.Token.IsZero() {
		// Hint the token as it would be after cleaning, so that a stray
		// newline or quote does not take the place of its last characters.
		_, _, bare := strayParts(in.Token.Reveal())
		rep.Token = secret.New(bare).Hint()
	}
	blocked := false
	for _, st := range steps {
		if blocked {
			rep.Checks = append(rep.Checks, Result{Name: st.name, Title: st.title, Status: StatusSkipped, Detail: "skipped: an earlier check failed"})
			continue
		}
		run := st.run
		if st.deploy != nil && s.isDeploy() {
			run = st.deploy
		}
		r := run(ctx, s)
		r.Name, r.Title = st.name, st.title
		switch r.Status {
		case StatusOK:
			r.OK = true
		case StatusFailed:
			r.Blocking = true
			blocked = true
		}
		rep.Checks = append(rep.Checks, r)
	}
	rep.Healthy = !blocked
	return rep
}

// DefaultTimeout is how long doctor waits for each answer by default.
const DefaultTimeout = 15 * time.Second

func pass(detail string) Result { return Result{Status: StatusOK, Detail: detail} }

func warn(detail, fix string) Result { return Result{Status: StatusWarning, Detail: detail, Fix: fix} }

func fail(detail, fix string) Result { return Result{Status: StatusFailed, Detail: detail, Fix: fix} }
