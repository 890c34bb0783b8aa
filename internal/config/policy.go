package config

import (
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
)

// Thresholds are scan's default thresholds (policy.DefaultThresholds) with
// the file's policy on top: what scan, the dashboard, expiry notifications,
// revoke --finding and the renewal schedule measure tokens by. It is the one
// conversion of policy: into thresholds.
func (p Policy) Thresholds() policy.Thresholds {
	th := policy.DefaultThresholds()
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&th.MaxLifetime, p.MaxLifetime)
	set(&th.UnusedAfter, p.UnusedAfter)
	set(&th.ExpiresWarning, p.ExpiresWarning)
	set(&th.ExpiresCritical, p.ExpiresCritical)
	return th
}

// Schedule is when token t is renewed under the file's policy: its
// lifetime and rotate_before, and never later than policy.expires_critical
// before it expires.
func (c *Config) Schedule(t Token) schedule.Policy {
	return schedule.Policy{Lifetime: t.Lifetime, RotateBefore: t.RotateBefore, Critical: c.Policy.Thresholds().ExpiresCritical}
}

// PolicyWarning is a finding scan would report on every token minted as a
// managed token is configured: tokenwarden would create what it flags.
type PolicyWarning struct {
	Token   Token
	File    string // the config file
	Line    int    // the line that asks for it
	Finding policy.Finding
}

// findingKeys are the keys whose line a finding points at.
var findingKeys = map[string][]string{
	policy.CodeOverPrivileged:    {"scopes", "access_level"},
	policy.CodeLongLived:         {"lifetime"},
	policy.CodeUndescriptiveName: {"name"},
	policy.CodeNoDescription:     {"description"},
}

// PolicyWarnings are the findings of scan's checks (policy.EvaluateConfigured)
// on each managed token as configured, with the file's thresholds, in token
// order and most severe first within a token. With policy.enforce, Load
// refuses a config that has any.
func (c *Config) PolicyWarnings() []PolicyWarning {
	th := c.Policy.Thresholds()
	var out []PolicyWarning
	for _, t := range c.Tokens {
		fs := policy.EvaluateConfigured(policy.Configured{
			Name: t.Name, Description: t.Description, Scopes: t.Scopes, AccessLevel: t.AccessLevel,
			Lifetime: t.Lifetime, Resource: gitlab.Resource{Type: t.ResourceType(), Path: t.ResourcePath()}, Kind: t.Kind,
		}, th)
		for _, f := range fs {
			out = append(out, PolicyWarning{Token: t, File: c.Path, Line: t.lineOf(findingKeys[f.Code]...), Finding: f})
		}
	}
	return out
}
