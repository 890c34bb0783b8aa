package config

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
)

// decoder walks the yaml.Node tree by hand rather than decoding into structs:
// that way every problem is reported with its line, all of them at once, and
// a secret written inline is never echoed back.
type decoder struct {
	file string // as named in messages
	dir  string // relative paths are resolved against it
	errs []*Error
	// secretEnv maps the environment variables that hold one of
	// tokenwarden's own secrets to what they hold: an exec hook must never
	// be handed one (see execEnvPass).
	secretEnv map[string]string
}

func (d *decoder) errorf(n *yaml.Node, hint, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, a...), Hint: hint})
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// field handles the value of one key.
type field func(key, val *yaml.Node)

// secretKeys are keys that would hold a secret inline. The value is never
// printed.
var secretKeys = map[string]bool{
	"token": true, "secret": true, "password": true, "webhook_url": true,
	"private_token": true, "access_token": true, "api_key": true,
}

// mapping calls fields[key] for each key of the mapping n (described as
// where in messages) and reports unknown, duplicate and inline-secret keys.
// It reports whether n was a mapping.
func (d *decoder) mapping(n *yaml.Node, where string, fields map[string]field) bool {
	n = resolve(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", "%s must be a mapping (key: value), not %s", where, kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			d.errorf(k, "remove one of them", "%s: key %q appears twice", where, key)
			continue
		}
		seen[key] = true
		if f, ok := fields[key]; ok {
			f(k, v)
			continue
		}
		if secretKeys[key] {
			d.errorf(k, fmt.Sprintf("use %s_env or %s_file: tokenwarden reads secrets from an environment variable or a file, never from the config", key, key),
				"%s: secret written inline (%s)", where, key)
			continue
		}
		d.errorf(k, unknownKeyHint(key, fields), "%s: unknown key %q", where, key)
	}
	return true
}

func unknownKeyHint(key string, fields map[string]field) string {
	valid := keysOf(fields)
	return didYouMean(key, valid, "valid keys: "+strings.Join(valid, ", "))
}

// keysOf returns the keys of fields in order: the keys (or kinds) a
// message lists.
func keysOf(fields map[string]field) []string {
	return slices.Sorted(maps.Keys(fields))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// sequence calls each for every item of the list n.
func (d *decoder) sequence(n *yaml.Node, where string, each func(i int, item *yaml.Node)) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "write a list: [a, b] or one \"- item\" per line", "%s must be a list, not %s", where, kindName(n))
		return
	}
	for i, item := range n.Content {
		each(i, resolve(item))
	}
}

func (d *decoder) scalar(n *yaml.Node, where string) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "", "%s must be a single value, not %s", where, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(dst *string, where string) field {
	return func(_, v *yaml.Node) {
		if s, ok := d.scalar(v, where); ok {
			*dst = strings.TrimSpace(s)
		}
	}
}

func (d *decoder) boolean(dst *bool, where string) field {
	return func(_, v *yaml.Node) {
		s, ok := d.scalar(v, where)
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if err != nil || (v.Tag != "!!bool" && v.Tag != "!!str") {
			d.errorf(v, "write true or false", "%s must be true or false, not %q", where, s)
			return
		}
		*dst = b
	}
}

// parsedField is the field of a single value that parse turns into what
// it stores in *dst. An empty value leaves *dst as it is; parse reports a
// value it refuses (at v's line) and returns ok false, and *dst is left as
// it is then too.
func parsedField[T any](d *decoder, dst *T, where string, parse func(v *yaml.Node, s string) (_ T, ok bool)) field {
	return func(_, v *yaml.Node) {
		s, ok := d.scalar(v, where)
		if !ok || s == "" {
			return
		}
		if x, ok := parse(v, s); ok {
			*dst = x
		}
	}
}

func (d *decoder) integer(dst *int, where string) field {
	return parsedField(d, dst, where, func(v *yaml.Node, s string) (int, bool) {
		i, err := strconv.Atoi(s)
		if err != nil {
			d.errorf(v, "", "%s must be a whole number, not %q", where, s)
		}
		return i, err == nil
	})
}

func (d *decoder) dur(dst *time.Duration, where string) field {
	return parsedField(d, dst, where, func(v *yaml.Node, s string) (time.Duration, bool) {
		t, err := duration.Parse(s)
		switch {
		case err != nil:
			d.errorf(v, "durations are a number with a unit: s, m, h, d (days) or w (weeks), e.g. 90d, 2w, 12h", "%s: invalid duration %q", where, s)
		case t < 0:
			d.errorf(v, "", "%s must not be negative", where)
		default:
			return t, true
		}
		return 0, false
	})
}

func (d *decoder) strings(dst *[]string, where string) field {
	return func(_, v *yaml.Node) {
		if r := resolve(v); r != nil && r.Kind == yaml.ScalarNode && !isNull(r) {
			d.errorf(v, fmt.Sprintf("write a list: [%s]", r.Value), "%s must be a list, not %s", where, kindName(r))
			return
		}
		var out []string
		d.sequence(v, where, func(i int, item *yaml.Node) {
			if s, ok := d.scalar(item, fmt.Sprintf("%s[%d]", where, i)); ok {
				out = append(out, s)
			}
		})
		*dst = out
	}
}

// stringMap stores a mapping of names to single values (labels:).
func (d *decoder) stringMap(dst *map[string]string, where string) field {
	return func(_, v *yaml.Node) {
		r := resolve(v)
		if r == nil || isNull(r) {
			return
		}
		if r.Kind != yaml.MappingNode {
			d.errorf(v, "write a mapping: {name: value}", "%s must be a mapping (name: value), not %s", where, kindName(r))
			return
		}
		out := map[string]string{}
		for i := 0; i+1 < len(r.Content); i += 2 {
			k, val := r.Content[i], r.Content[i+1]
			if _, dup := out[k.Value]; dup {
				d.errorf(k, "remove one of them", "%s: key %q appears twice", where, k.Value)
				continue
			}
			if s, ok := d.scalar(val, where+"."+k.Value); ok {
				out[k.Value] = s
			}
		}
		*dst = out
	}
}

// path stores a file path resolved against the config's directory.
func (d *decoder) path(dst *string, where string) field {
	return func(k, v *yaml.Node) {
		var s string
		d.str(&s, where)(k, v)
		*dst = d.abs(s)
	}
}

func (d *decoder) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// env stores an environment variable name.
func (d *decoder) env(dst *string, where string) field {
	return func(k, v *yaml.Node) {
		var s string
		d.str(&s, where)(k, v)
		if s != "" && !envName.MatchString(s) {
			hint := "an environment variable name is letters, digits and _"
			if strings.HasPrefix(s, "$") {
				hint = fmt.Sprintf("write the name without $: %s", strings.Trim(s, "${}"))
			}
			// Do not quote the value: a secret pasted here by mistake must
			// not be echoed.
			d.errorf(v, hint, "%s is not an environment variable name", where)
			return
		}
		*dst = s
	}
}

// secretRef checks the usual "X_env or X_file" pair: at most one is set, and
// with required exactly one.
func (d *decoder) secretRef(n *yaml.Node, where, name, envV, fileV string, required bool) {
	switch {
	case envV != "" && fileV != "":
		d.errorf(n, fmt.Sprintf("keep %s_env or %s_file", name, name), "%s: both %s_env and %s_file are set", where, name, name)
	case required && envV == "" && fileV == "":
		d.errorf(n, fmt.Sprintf("add %s_env: VARIABLE or %s_file: PATH", name, name), "%s: %s_env or %s_file is required", where, name, name)
	}
}

// httpURL validates an http(s) URL.
func (d *decoder) httpURL(n *yaml.Node, where, s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorf(n, "write a full URL such as https://gitlab.example.com", "%s: %q is not an http(s) URL", where, s)
		return false
	}
	if u.User != nil {
		d.errorf(n, "remove the user info from the URL", "%s: URL must not carry credentials", where)
		return false
	}
	return true
}

// fileMode parses "0600", "600" or "0o600".
func (d *decoder) fileMode(dst *os.FileMode, where string) field {
	return parsedField(d, dst, where, func(v *yaml.Node, s string) (os.FileMode, bool) {
		m, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0"), 8, 32)
		if strings.TrimLeft(s, "0o") == "" {
			m, err = 0, nil
		}
		if err != nil || m > 0o777 {
			d.errorf(v, "write an octal mode such as \"0600\"", "%s: invalid file mode %q", where, s)
			return 0, false
		}
		return os.FileMode(m), true
	})
}
