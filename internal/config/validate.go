package config

import (
	"fmt"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"go.yaml.in/yaml/v3"
)

// validate runs the checks that span several tokens or sections.
func (d *decoder) validate(_ *yaml.Node, c *Config) {
	seen := map[string]int{} // ref → line of first
	for _, t := range c.Tokens {
		if t.Name == "" || t.ResourcePath() == "" {
			continue
		}
		ref := t.Ref()
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
	}
}
