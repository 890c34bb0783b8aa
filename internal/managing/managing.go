// Package managing checks the token tokenwarden itself runs with (the
// "managing token", gitlab.token_env / gitlab.token_file): when it expires,
// and whether its scopes and its user's role cover what the config asks.
// Every command that talks to GitLab checks it once, before any work.
package managing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
)

// Expiry levels, mildest first.
const (
	LevelOK       = "ok"
	LevelWarning  = "warning"
	LevelCritical = "critical"
	LevelExpired  = "expired" // expired or revoked: nothing works any more
)

// Need is one thing the config asks of the managing token on a group or
// project: a role, because of a managed token or a delivery.
type Need struct {
	Kind  string // "group" | "project" | "instance" (an administrator)
	Path  string
	Level int    // the role needed there
	Why   string // "create and rotate group/acme:deploy"
}

// Needs lists what cfg asks of the managing token: the write scope (api)
// whenever it manages any token, and per group or project the highest role
// any managed token or delivery needs there. Creating or rotating a group
// access token needs Owner on the group; a project access token Maintainer
// on the project; neither can get a role above its creator's. Writing a
// CI/CD variable needs Maintainer.
func Needs(cfg *config.Config) (write bool, needs []Need) {
	idx := map[string]int{}
	add := func(kind, path string, level int, why string) {
		k := kind + "/" + path
		if i, ok := idx[k]; ok {
			if level > needs[i].Level {
				needs[i].Level, needs[i].Why = level, why
			}
			return
		}
		idx[k] = len(needs)
		needs = append(needs, Need{Kind: kind, Path: path, Level: level, Why: why})
	}
	sinks := func(owner string, ds []config.Sink) {
		for _, d := range ds {
			if v, ok := d.Settings.(*gitlabvar.Config); ok {
				kind, path := v.Resource()
				add(kind, path, gitlab.AccessMaintainer, "write CI/CD variable "+v.Key+" for "+owner)
			}
		}
	}
	for _, t := range cfg.Tokens {
		write = true
		if t.IsRunnerToken() {
			// Resetting a runner's token takes an administrator (instance
			// runners), the group's Owner or the project's Maintainer: it
			// depends on the runner, which the config does not say.
			sinks(t.Ref(), t.Deliver)
			continue
		}
		kind, path := t.ResourceType(), t.ResourcePath()
		if t.IsServiceAccountToken() {
			// A group's service accounts' tokens: the group's Owner
			// (admin_service_accounts); an instance one's: an administrator.
			kind, path = "instance", ""
			if t.Group != "" {
				kind, path = "group", t.Group
			}
		}
		level := gitlab.AccessMaintainer
		if kind == "group" {
			level = gitlab.AccessOwner
		}
		level = max(level, t.AccessLevel)
		add(kind, path, level, "create and rotate "+t.Ref())
		sinks(t.Ref(), t.Deliver)
	}
	if len(cfg.GitLab.Deliver) > 0 {
		write = true
		sinks("the managing token", cfg.GitLab.Deliver)
	}
	return write, needs
}

// Status is the managing token as GitLab sees it, measured against the
// config.
type Status struct {
	Token    gitlab.Token // never the secret
	User     gitlab.User
	Level    string // LevelOK … LevelExpired
	Now      time.Time
	Source   string    // "gitlab.token_file /etc/tw/token" or "gitlab.token_env GITLAB_TOKEN"
	Problems []Problem // what it lacks for the config; empty when it can do it all
	// Rejected is GitLab's word when it refused the token (expired,
	// revoked, unknown); the other fields are then empty.
	Rejected string
	// SelfRotate: the config lets tokenwarden renew it.
	SelfRotate bool
}

// Problem is one thing the managing token lacks.
type Problem struct {
	What string // "scope api (it has read_api): needed to create and rotate group/acme:deploy"
	Fix  string
}

// ExpiresAt is the token's expiry (00:00 UTC of its date), nil: never.
func (s Status) ExpiresAt() *time.Time { return s.Token.ExpiresAt }

// DaysLeft counts calendar days (UTC) from today to the expiry date: 0 on
// the day it stops working, -1 when it never expires.
func (s Status) DaysLeft() int {
	if s.Token.ExpiresAt == nil {
		return -1
	}
	n := s.Now.UTC()
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	return max(0, int(s.Token.ExpiresAt.Sub(today).Hours()/24))
}

// Name says which token it is, for people: "tokenwarden (id 7, gitlab.token_file …)".
func (s Status) Name() string {
	var b strings.Builder
	b.WriteString("the managing token")
	if s.Token.ID != 0 {
		fmt.Fprintf(&b, " %q (id %d", s.Token.Name, s.Token.ID)
		if s.Source != "" {
			b.WriteString(", " + s.Source)
		}
		b.WriteString(")")
	} else if s.Source != "" {
		b.WriteString(" (" + s.Source + ")")
	}
	return b.String()
}

// Warning is one line for the top of plan/apply output, "" when the token
// is neither close to expiry nor rejected.
func (s Status) Warning() string {
	switch s.Level {
	case LevelWarning, LevelCritical:
		d := s.DaysLeft()
		when := fmt.Sprintf("in %d days", d)
		switch d {
		case 0:
			when = "today"
		case 1:
			when = "tomorrow"
		}
		return fmt.Sprintf("%s: %s expires on %s (%s); when it does, every scan, rotation and delivery stops. Fix: %s",
			strings.ToUpper(s.Level), s.Name(), s.Token.ExpiresAt.Format(time.DateOnly), when, s.RenewFix())
	case LevelExpired:
		return fmt.Sprintf("EXPIRED: %s no longer works (%s). Fix: %s", s.Name(), s.Rejected, s.ReplaceFix())
	}
	return ""
}

// RenewFix says how to renew a token that still works.
func (s Status) RenewFix() string {
	if s.SelfRotate {
		return "tokenwarden renews it itself (gitlab.self_rotate) at the next `tokenwarden apply` or while `tokenwarden serve` runs; run `tokenwarden apply -c CONFIG` now to renew it at once"
	}
	return "rotate it in GitLab (Settings > Access tokens > Rotate, or POST /personal_access_tokens/self/rotate) and put the new secret in " + s.sourceWhere() +
		", or let tokenwarden renew it: gitlab: {self_rotate: true, token_file: PATH}"
}

// ReplaceFix says how to recover from a dead managing token.
func (s Status) ReplaceFix() string {
	return "create a new token (scopes and role: see the README, \"tokenwarden's own token\") and put its secret in " + s.sourceWhere()
}

func (s Status) sourceWhere() string {
	if s.Source == "" {
		return "the place the config reads it from"
	}
	return s.Source
}

// Err is nil when the token can do what the config asks, else an error that
// names each missing scope or role and the token.
func (s Status) Err() error {
	if s.Level == LevelExpired {
		return &Error{Status: s, msg: fmt.Sprintf("%s was rejected by GitLab: %s", s.Name(), s.Rejected), Hint: s.ReplaceFix()}
	}
	if len(s.Problems) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s cannot do what the config asks; it lacks:", s.Name())
	var fixes []string
	for _, p := range s.Problems {
		b.WriteString("\n  - " + p.What)
		if p.Fix != "" && !slices.Contains(fixes, p.Fix) {
			fixes = append(fixes, p.Fix)
		}
	}
	return &Error{Status: s, msg: b.String(), Hint: strings.Join(fixes, "; ")}
}

// Error is a managing token that cannot do the work; Hint is the fix.
type Error struct {
	Status Status
	msg    string
	Hint   string
}

func (e *Error) Error() string { return e.msg }

// Thresholds decide the expiry level.
type Thresholds struct {
	Warning, Critical time.Duration
}

// ExpiryNotices are how long before the managing token expires serve
// notifies about it: at Warning, at Critical and one day before, as for
// every token (policy.Thresholds.ExpiryNotices).
func (th Thresholds) ExpiryNotices() []time.Duration {
	return policy.Thresholds{ExpiresWarning: th.Warning, ExpiresCritical: th.Critical}.ExpiryNotices()
}

// ThresholdsOf returns the config's thresholds (defaults filled in).
func ThresholdsOf(g config.GitLab) Thresholds {
	th := Thresholds{Warning: g.ExpiresWarning, Critical: g.ExpiresCritical}
	if th.Warning == 0 {
		th.Warning = config.DefaultManagingWarning
	}
	if th.Critical == 0 {
		th.Critical = config.DefaultManagingCritical
	}
	return th
}

// LevelAt is the expiry level of a token expiring at exp (nil: never).
func LevelAt(exp *time.Time, now time.Time, th Thresholds) string {
	switch {
	case exp == nil:
		return LevelOK
	case !now.Before(*exp):
		return LevelExpired
	case exp.Sub(now) <= th.Critical:
		return LevelCritical
	case exp.Sub(now) <= th.Warning:
		return LevelWarning
	}
	return LevelOK
}

// Source names where cfg reads the managing token from.
func Source(g config.GitLab) string {
	if g.TokenFile != "" {
		return "gitlab.token_file " + g.TokenFile
	}
	if g.TokenEnv != "" {
		return "gitlab.token_env " + g.TokenEnv
	}
	return ""
}

// Check asks GitLab about the managing token c authenticates with and
// measures it against cfg. A token GitLab rejects (expired, revoked) is not
// an error: Status.Level is LevelExpired. The error is for GitLab not
// answering at all.
func Check(ctx context.Context, c *gitlab.Client, cfg *config.Config, now time.Time) (Status, error) {
	st := Status{Now: now, Source: Source(cfg.GitLab), SelfRotate: cfg.GitLab.SelfRotate, Level: LevelOK}
	tok, err := c.SelfToken(ctx)
	if errors.Is(err, gitlab.ErrTokenRejected) {
		st.Level = LevelExpired
		st.Rejected = strings.TrimPrefix(err.Error(), "the token was rejected: ")
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("check the managing token: %w", err)
	}
	st.Token = tok
	st.Level = LevelAt(tok.ExpiresAt, now, ThresholdsOf(cfg.GitLab))
	if st.Level == LevelExpired {
		st.Rejected = "it expired on " + tok.ExpiresAt.Format(time.DateOnly)
		return st, nil
	}
	if tok.Revoked {
		st.Level, st.Rejected = LevelExpired, "it was revoked"
		return st, nil
	}
	u, err := c.CurrentUser(ctx)
	if err != nil {
		return st, fmt.Errorf("check the managing token: %w", err)
	}
	st.User = u
	write, needs := Needs(cfg)
	has := func(s string) bool { return slices.Contains(tok.Scopes, s) }
	scopes := strings.Join(tok.Scopes, ", ")
	switch {
	case write && !has("api"):
		why := "creating and rotating tokens and writing CI/CD variables"
		if len(needs) > 0 {
			why = needs[0].Why
			if len(needs) > 1 {
				why += fmt.Sprintf(" (and %d more)", len(needs)-1)
			}
		}
		st.Problems = append(st.Problems, Problem{
			What: fmt.Sprintf("scope api (it has %s): needed to %s", scopes, why),
			Fix:  "create the managing token with scope api (read_api only reads: enough for scan, not for apply)",
		})
	case !has("api") && !has("read_api"):
		st.Problems = append(st.Problems, Problem{
			What: fmt.Sprintf("scope read_api (it has %s): needed to read groups, projects and tokens", scopes),
			Fix:  "create the managing token with scope api (or read_api for scan only)",
		})
	}
	if cfg.GitLab.SelfRotate && !has("api") && !has("self_rotate") {
		st.Problems = append(st.Problems, Problem{
			What: fmt.Sprintf("scope self_rotate or api (it has %s): needed for gitlab.self_rotate", scopes),
			Fix:  "add scope api (or self_rotate) to the managing token, or turn gitlab.self_rotate off",
		})
	}
	if u.Bot && len(cfg.Tokens) > 0 {
		// GitLab's group and project policies: rule { can?(:project_bot_access) }
		// prevents :create_resource_access_tokens and :manage_resource_access_tokens.
		st.Problems = append(st.Problems, Problem{
			What: fmt.Sprintf("a human (or service account) user: it is a group or project access token (bot user %s), and GitLab never lets those create or rotate access tokens, whatever their role; needed to create and rotate %s", u.Username, cfg.Tokens[0].Ref()),
			Fix:  "use a personal access token (scope api) of a user with the Owner role on the groups — ideally a service account — or of an administrator",
		})
	}
	if u.Admin {
		return st, nil // administrators reach every group and project
	}
	for _, n := range needs {
		if n.Kind == "instance" {
			st.Problems = append(st.Problems, Problem{
				What: fmt.Sprintf("an administrator (its user %s is not one): needed to %s", u.Username, n.Why),
				Fix:  "use an administrator's token, or manage a top-level group's service account (group:) with its Owner's",
			})
			continue
		}
		res, err := c.Resolve(ctx, n.Kind, n.Path)
		if err != nil {
			// A group the token cannot even see: the plan reports it for
			// the token concerned.
			continue
		}
		level, err := c.MemberLevel(ctx, res, u.ID)
		if err != nil {
			return st, fmt.Errorf("check the managing token's role on %s %s: %w", n.Kind, n.Path, err)
		}
		if level >= n.Level {
			continue
		}
		has := "no role"
		if level > 0 {
			has = "the " + roleName(level) + " role"
		}
		st.Problems = append(st.Problems, Problem{
			What: fmt.Sprintf("the %s role on %s %s (its user %s has %s): needed to %s", roleName(n.Level), n.Kind, n.Path, u.Username, has, n.Why),
			Fix:  fmt.Sprintf("give %s the %s role on %s %s, or use a token whose user has it", u.Username, roleName(n.Level), n.Kind, n.Path),
		})
	}
	return st, nil
}

func roleName(level int) string {
	n := gitlab.AccessLevelName(level)
	if n == "" {
		return "no"
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
