package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// kinds decodes serve.kinds: a list of credential kinds (scan --kind's
// names), or all — as a list item or alone (kinds: all).
func (d *decoder) kinds(dst *[]string, where string) field {
	return func(_, v *yaml.Node) {
		var out []string
		add := func(n *yaml.Node, k, at string) {
			k = strings.TrimSpace(k)
			switch {
			case k == "all" || slices.Contains(gitlab.Kinds, k):
				if !slices.Contains(out, k) {
					out = append(out, k)
				}
			default:
				hint := didYouMean(k, append([]string{"all"}, gitlab.Kinds...), "use all, or some of "+strings.Join(gitlab.Kinds, ", "))
				d.errorf(n, hint, "%s: %q is not a credential kind", at, k)
			}
		}
		if r := resolve(v); r != nil && r.Kind == yaml.ScalarNode && !isNull(r) {
			add(r, r.Value, where)
		} else {
			d.sequence(v, where, func(i int, item *yaml.Node) {
				at := fmt.Sprintf("%s[%d]", where, i)
				if s, ok := d.scalar(item, at); ok {
					add(item, s, at)
				}
			})
		}
		if slices.Contains(out, "all") {
			out = []string{"all"}
		}
		*dst = out
	}
}

// ServeKinds are the credential kinds serve's scans list: serve.kinds
// (all → every kind), or by default the kinds scan lists by default —
// group and project access tokens — plus every kind the config manages,
// so that the dashboard always shows the managed tokens.
func (c *Config) ServeKinds() []string {
	if slices.Contains(c.Serve.Kinds, "all") {
		return slices.Clone(gitlab.Kinds)
	}
	if len(c.Serve.Kinds) > 0 {
		return slices.Clone(c.Serve.Kinds)
	}
	want := map[string]bool{gitlab.KindGroupAccessToken: true, gitlab.KindProjectAccessToken: true}
	for _, t := range c.Tokens {
		want[t.TokenKind()] = true
	}
	var out []string
	for _, k := range gitlab.Kinds {
		if want[k] {
			out = append(out, k)
		}
	}
	return out
}

// TokenKind is the kind of credential t is (gitlab.Kind…): its kind:, or
// the access token of its group or project.
func (t Token) TokenKind() string {
	if t.Kind != "" {
		return t.Kind
	}
	return t.ResourceType() + "_access_token"
}

// CanManage reports whether a tokens: entry can manage (rotate) credentials
// of kind: serve flags the active ones no entry manages as unmanaged.
func CanManage(kind string) bool {
	switch kind {
	case gitlab.KindGroupAccessToken, gitlab.KindProjectAccessToken, gitlab.KindDeployToken,
		gitlab.KindTriggerToken, gitlab.KindServiceAccountToken, gitlab.KindRunnerToken:
		return true
	}
	return false
}
