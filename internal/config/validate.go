package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// validate runs the checks that span several tokens or sections.
func (d *decoder) validate(_ *yaml.Node, c *Config) {
	seen := map[string]int{} // ref → line of first
	names := map[string]string{}
	for _, t := range c.Tokens {
		if t.Name == "" || t.ResourcePath() == "" {
			continue
		}
		ref := t.Ref()
		if t.IsRunnerToken() {
			ref = "runner/" + t.ResourcePath() // one entry per runner, whatever its name
			if first, dup := seen[ref]; dup {
				d.errs = append(d.errs, &Error{File: d.file, Line: t.Line,
					Msg:  fmt.Sprintf("token %q: runner %d is already managed by token %q (line %d)", t.Name, t.Runner, names[ref], first),
					Hint: "a runner has one token: keep one entry per runner"})
				continue
			}
			names[ref] = t.Name
		}
		if first, dup := seen[ref]; dup {
			d.errs = append(d.errs, &Error{File: d.file, Line: t.Line,
				Msg:  fmt.Sprintf("token %q: %s %s already has a token with this name (line %d)", t.Name, t.ResourceType(), t.ResourcePath(), first),
				Hint: "tokens are matched by resource and name: give each a distinct name"})
			continue
		}
		seen[ref] = t.Line
		if max := c.Policy.MaxLifetime; max > 0 && t.Lifetime > max {
			d.errs = append(d.errs, &Error{File: d.file, Line: t.Line,
				Msg:  fmt.Sprintf("token %q: lifetime %s is over policy.max_lifetime %s", t.Name, duration.Format(t.Lifetime), duration.Format(max)),
				Hint: "shorten the lifetime, or raise policy.max_lifetime"})
		}
		d.window(c, t)
	}
	if !c.Policy.Enforce {
		return
	}
	for _, w := range c.PolicyWarnings() {
		switch {
		case w.Token.Name == "" || len(w.Token.Scopes) == 0:
			continue // reported above: there is nothing to judge yet
		case w.Finding.Code == policy.CodeLongLived && c.Policy.MaxLifetime > 0:
			continue // reported above, enforced or not
		}
		d.errs = append(d.errs, &Error{File: d.file, Line: w.Line,
			Msg:  fmt.Sprintf("token %q: %s: %s (policy.enforce)", w.Token.Name, w.Finding.Code, w.Finding.Message),
			Hint: w.Finding.Fix})
	}
}

// window checks that a token's renewal window (rotate_before, or one third
// of its lifetime, but never less than policy.expires_critical: see
// schedule.Policy.Before) leaves it a day of life, so that a token
// tokenwarden has just minted is not due again at once.
func (d *decoder) window(c *Config, t Token) {
	if t.Lifetime == 0 || (t.RotateBefore > 0 && t.RotateBefore >= t.Lifetime) || t.Lifetime > MaxLifetime {
		return // reported with the lifetime
	}
	p := c.Schedule(t)
	critical := p.Critical
	if p.Before() <= t.Lifetime-24*time.Hour {
		return
	}
	msg := fmt.Sprintf("token %q: rotate_before %s leaves less than a day of a %s lifetime: it would be due for renewal as soon as it is created",
		t.Name, duration.Format(p.Before()), duration.Format(t.Lifetime))
	hint := "shorten rotate_before, or lengthen lifetime"
	if critical >= t.Lifetime-24*time.Hour {
		msg = fmt.Sprintf("token %q: a %s lifetime is within policy.expires_critical (%s): scan flags the token critical from the day it is created, so tokenwarden would renew it at once",
			t.Name, duration.Format(t.Lifetime), duration.Format(critical))
		hint = fmt.Sprintf("use lifetime: %s or more, or lower policy.expires_critical", duration.Format(critical+48*time.Hour))
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: t.Line, Msg: msg, Hint: hint})
}
