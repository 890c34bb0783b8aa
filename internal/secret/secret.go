// Package secret owns the one type that carries a token value through
// tokenwarden. A Secret formats as [REDACTED] everywhere (fmt, slog, JSON), so
// a secret can only reach a sink through an explicit call to Reveal.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as.
const Redacted = "[REDACTED]"

// Secret holds a sensitive string. The zero value is the empty secret.
type Secret struct{ v string }

// New wraps s.
func New(s string) Secret { return Secret{v: s} }

// Reveal returns the plain value. Call it only where the value leaves for
// GitLab or a sink.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Equal compares two secrets.
func (s Secret) Equal(o Secret) bool { return s.v == o.v }

func (s Secret) String() string   { return Redacted }
func (s Secret) GoString() string { return Redacted }

// Format makes every verb (%v, %s, %q, %x, %#v …) print [REDACTED].
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue keeps the secret out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON keeps the secret out of JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText keeps the secret out of YAML, CSV and any other text encoding.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Hint returns the prefix and the last four characters, the most of a token
// tokenwarden ever shows (e.g. "glpat-…a1b2").
func (s Secret) Hint() string {
	v := s.v
	prefix := ""
	for _, p := range []string{"glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "gloas-", "glsoat-", "glft-", "glimt-", "glagent-", "gltst-", "glwt-"} {
		if len(v) >= len(p) && v[:len(p)] == p {
			prefix, v = p, v[len(p):]
			break
		}
	}
	if len(v) <= 8 {
		return prefix + "…"
	}
	return prefix + "…" + v[len(v)-4:]
}
