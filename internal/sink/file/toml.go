package file

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	gotoml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// tomlFormat edits one string value of a TOML file — a gitlab-runner
// config.toml above all — in place: only the bytes of that value change,
// so every comment, the order of keys and tables, and the formatting of the
// rest of the file stay exactly as they were. The key is a dotted path whose
// segments may select one table of an array of tables by a field:
// runners[name=build-1].token is the token of the [[runners]] table whose
// name is "build-1".
//
// Two TOML parsers check each other: go-toml's AST parser finds the byte
// range of the value, BurntSushi/toml decodes the file before and after the
// edit, and the edit is refused unless the only difference between the two
// decoded documents is the key now holding the new value.
type tomlFormat struct{}

// tomlSeg is one segment of a TOML key path: a key, and optionally a
// selector [field=value] picking one table of the array of tables it names.
type tomlSeg struct {
	key          string
	field, value string
	sel          bool
}

// parseTOMLPath splits a key path: segments separated by dots outside
// brackets; a selector's value is everything up to "]", or a double-quoted
// string (to hold "]" or a quote).
func parseTOMLPath(path string) ([]tomlSeg, error) {
	if path == "" {
		return nil, errors.New("no key given")
	}
	if !utf8.ValidString(path) {
		return nil, fmt.Errorf("key %q is not valid UTF-8", path)
	}
	var segs []tomlSeg
	rest := path
	for {
		i := strings.IndexAny(rest, ".[")
		seg := tomlSeg{key: rest}
		if i >= 0 {
			seg.key = rest[:i]
		}
		if seg.key == "" {
			return nil, fmt.Errorf("key %q has an empty segment", path)
		}
		if i < 0 {
			return append(segs, seg), nil
		}
		rest = rest[i:]
		if rest[0] == '[' {
			eq := strings.IndexByte(rest, '=')
			if eq < 0 {
				return nil, fmt.Errorf("key %q: a selector is [field=value]", path)
			}
			seg.field, seg.sel = rest[1:eq], true
			rest = rest[eq+1:]
			if strings.HasPrefix(rest, `"`) {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil {
					return nil, fmt.Errorf("key %q: the selector's quoted value does not end", path)
				}
				seg.value, _ = strconv.Unquote(q)
				rest = rest[len(q):]
				if !strings.HasPrefix(rest, "]") {
					return nil, fmt.Errorf("key %q: a selector ends with ]", path)
				}
			} else {
				end := strings.IndexByte(rest, ']')
				if end < 0 {
					return nil, fmt.Errorf("key %q: a selector ends with ]", path)
				}
				seg.value, rest = rest[:end], rest[end:]
			}
			rest = rest[1:]
			if seg.field == "" || strings.ContainsAny(seg.field, ".[]") {
				return nil, fmt.Errorf("key %q: a selector names one field, as in runners[name=build-1]", path)
			}
		}
		segs = append(segs, seg)
		if rest == "" {
			if seg.sel {
				return nil, fmt.Errorf("key %q ends with a selector: name the key in the selected table, as in runners[name=build-1].token", path)
			}
			return segs, nil
		}
		if rest[0] != '.' {
			return nil, fmt.Errorf("key %q: expected . after ]", path)
		}
		rest = rest[1:]
	}
}

// tomlStep is one step of a concrete path into a decoded document: a key,
// or the index of a table in an array of tables.
type tomlStep struct {
	key   string
	index int // when key == ""
}

func (s tomlStep) String() string {
	if s.key == "" {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	return s.key
}

func stepsString(steps []tomlStep) string {
	var b strings.Builder
	for i, s := range steps {
		if i > 0 && s.key != "" {
			b.WriteByte('.')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// decodeTOML reads a whole file with BurntSushi/toml (the parser
// gitlab-runner uses), and checks go-toml accepts it too: a file only one of
// them accepts is refused. A parse error names its line only: its message
// could quote a secret.
func decodeTOML(content []byte) (map[string]any, error) {
	if !utf8.Valid(content) {
		return nil, errors.New("not valid TOML: the file is not UTF-8 text")
	}
	m := map[string]any{}
	if _, err := toml.Decode(string(content), &m); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("not valid TOML (line %d)", pe.Position.Line)
		}
		return nil, errors.New("not valid TOML")
	}
	var other map[string]any
	if err := gotoml.Unmarshal(content, &other); err != nil {
		var de *gotoml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, fmt.Errorf("not valid TOML (line %d)", row)
		}
		return nil, errors.New("not valid TOML")
	}
	return m, nil
}

// resolveTOML follows segs in a decoded document. It returns the concrete
// path, the value there (nil when the last key is absent) and whether the
// last key is present. A selector must match exactly one table.
func resolveTOML(doc map[string]any, segs []tomlSeg, key string) ([]tomlStep, any, bool, error) {
	var steps []tomlStep
	cur := doc
	for i, seg := range segs {
		v, ok := cur[seg.key]
		steps = append(steps, tomlStep{key: seg.key})
		last := i == len(segs)-1
		if !ok {
			if seg.sel {
				return steps, nil, false, errNoTable(key, seg)
			}
			if last {
				return steps, nil, false, nil
			}
			// A missing table on the way: set may create it.
			rest := make([]tomlStep, 0, len(segs)-i-1)
			for _, s := range segs[i+1:] {
				if s.sel {
					return steps, nil, false, errNoTable(key, s)
				}
				rest = append(rest, tomlStep{key: s.key})
			}
			return append(steps, rest...), nil, false, nil
		}
		if seg.sel {
			arr, ok := v.([]map[string]any)
			if !ok {
				return nil, nil, false, fmt.Errorf("key %s: %s is not an array of tables ([[%s]])", key, stepsString(steps), seg.key)
			}
			idx := -1
			for j, t := range arr {
				if s, ok := t[seg.field].(string); ok && s == seg.value {
					if idx >= 0 {
						return nil, nil, false, fmt.Errorf("key %s: several [[%s]] tables have %s = %q; the selector must pick one", key, seg.key, seg.field, seg.value)
					}
					idx = j
				}
			}
			if idx < 0 {
				return steps, nil, false, errNoTable(key, seg)
			}
			steps = append(steps, tomlStep{index: idx})
			v = arr[idx]
		}
		if last {
			if err := selfRotating(cur, segs, key); err != nil {
				return nil, nil, false, err
			}
			return steps, v, true, nil
		}
		next, ok := v.(map[string]any)
		if !ok {
			return nil, nil, false, fmt.Errorf("key %s: %s is not a table", key, stepsString(steps))
		}
		cur = next
	}
	return steps, nil, false, nil // not reached: segs is never empty
}

// selfRotating refuses the token of a gitlab-runner runner (a token key
// in a table selected from [[runners]]) whose token_expires_at is set:
// gitlab-runner resets such a token itself, at 3/4 of its life, and
// rewrites config.toml with the one it got (gitlab-runner commands/multi.go,
// nextRunnerToReset; a zero 0001-01-01T00:00:00Z means never). A second
// rotator would kill the token the runner holds, and the runner the one
// tokenwarden delivered.
func selfRotating(table map[string]any, segs []tomlSeg, key string) error {
	n := len(segs)
	if n < 2 || segs[n-1].key != "token" || !segs[n-2].sel || segs[n-2].key != "runners" {
		return nil
	}
	exp, ok := table["token_expires_at"].(time.Time)
	if !ok || exp.Year() <= 1 {
		return nil
	}
	return fmt.Errorf("key %s: this runner's token_expires_at is set (%s), so gitlab-runner resets the token itself and rewrites config.toml; leave it to gitlab-runner, or set token_expires_at = 0001-01-01T00:00:00Z once the token no longer expires", key, exp.UTC().Format(time.DateOnly))
}

func errNoTable(key string, seg tomlSeg) error {
	return fmt.Errorf("key %s: no [[%s]] table has %s = %q", key, seg.key, seg.field, seg.value)
}

func (tomlFormat) get(content []byte, key string) (string, bool, error) {
	segs, err := parseTOMLPath(key)
	if err != nil {
		return "", false, err
	}
	doc, err := decodeTOML(content)
	if err != nil {
		return "", false, err
	}
	_, v, ok, err := resolveTOML(doc, segs, key)
	if err != nil {
		// A selector that picks no table is an error, not "nothing there":
		// Put could not write it either (a runner's table is gitlab-runner's
		// to add), and saying so before a runner's token is reset keeps the
		// runner working.
		return "", false, err
	}
	if !ok {
		return "", false, nil
	}
	return stringAt(key, v, tomlKind)
}

func (tomlFormat) set(content []byte, key, value string) ([]byte, error) {
	segs, err := parseTOMLPath(key)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(value) {
		return nil, errors.New("the value is not UTF-8 text, which TOML cannot hold")
	}
	before, err := decodeTOML(content)
	if err != nil {
		return nil, err
	}
	steps, old, ok, err := resolveTOML(before, segs, key)
	if err != nil {
		return nil, err
	}
	if ok {
		if _, isStr := old.(string); !isStr {
			return nil, fmt.Errorf("key %s holds a %s, not a string; refusing to replace it", key, tomlKind(old))
		}
	}
	loc, err := locateTOML(content, steps)
	if err != nil {
		return nil, err
	}
	var next []byte
	switch {
	case loc.value != nil:
		r := *loc.value
		enc := encodeTOMLString(value, content[r.Offset] == '\'')
		next = spliceBytes(content, int(r.Offset), int(r.Offset+r.Length), enc)
	case ok:
		return nil, fmt.Errorf("key %s is written inside an inline table or array, which tokenwarden does not edit; write it as `%s = \"…\"` under its table header", key, steps[len(steps)-1].key)
	default:
		next, err = insertTOML(content, steps, loc, value)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", key, err)
		}
	}
	// The independent check: the file decodes to what it meant before, with
	// the one key set.
	after, err := decodeTOML(next)
	if err != nil {
		return nil, fmt.Errorf("key %s: the edited file would not be valid TOML; nothing written", key)
	}
	if err := tomlOracle(before, steps, value); err != nil {
		return nil, fmt.Errorf("key %s: %w", key, err)
	}
	if !reflect.DeepEqual(after, before) {
		return nil, fmt.Errorf("key %s: the edit would change other values of the file; nothing written", key)
	}
	return next, nil
}

// tomlOracle sets steps in a decoded document (creating missing tables).
func tomlOracle(doc map[string]any, steps []tomlStep, value string) error {
	var cur any = doc
	for i, s := range steps {
		last := i == len(steps)-1
		if s.key == "" {
			arr, ok := cur.([]map[string]any)
			if !ok || s.index >= len(arr) {
				return errors.New("the path does not exist in the file")
			}
			cur = arr[s.index]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return errors.New("the path does not exist in the file")
		}
		if last {
			m[s.key] = value
			return nil
		}
		next, ok := m[s.key]
		if !ok {
			next = map[string]any{}
			m[s.key] = next
		}
		cur = next
	}
	return nil
}

func spliceBytes(b []byte, from, to int, with []byte) []byte {
	out := make([]byte, 0, len(b)-(to-from)+len(with))
	out = append(out, b[:from]...)
	out = append(out, with...)
	return append(out, b[to:]...)
}

// encodeTOMLString writes s as a TOML string: a literal string ('…') when
// the old value was one and s allows it, else a basic string with escapes.
func encodeTOMLString(s string, literal bool) []byte {
	if literal && !strings.ContainsAny(s, "'\r\n") && !strings.ContainsFunc(s, isTOMLControl) {
		return []byte("'" + s + "'")
	}
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case isTOMLControl(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.Bytes()
}

func isTOMLControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// tomlLoc is where a concrete path is in the file's text.
type tomlLoc struct {
	value *unstable.Range // the value's bytes, when the key is written as `key = "…"`
	// When the key is absent: the end of the last line that belongs to the
	// parent table (its header or its last key), the indentation of its
	// keys, whether the parent table exists as a header ([a.b] or [[a]]),
	// and whether the parent is the root table.
	insertAt   int
	indent     string
	parentSeen bool
}

// locateTOML walks the file's expressions with go-toml's AST parser,
// keeping the concrete path of the current table (an array of tables'
// header adds an element; a header below it refers to its last element).
func locateTOML(content []byte, steps []tomlStep) (tomlLoc, error) {
	var loc tomlLoc
	parent := steps[:len(steps)-1]
	counts := map[string]int{} // concrete path of an array of tables → its length so far
	var table []tomlStep       // the current table's concrete path
	inParent := len(parent) == 0
	loc.parentSeen = inParent
	var p unstable.Parser
	p.Reset(content)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = concreteHeader(e, counts)
			inParent = stepsEqual(table, parent)
			if inParent {
				loc.parentSeen = true
				loc.insertAt = lineEnd(content, int(lastKeyRange(e).Offset+lastKeyRange(e).Length))
				loc.indent = ""
			}
		case unstable.KeyValue:
			path := append([]tomlStep(nil), table...)
			for it := e.Key(); it.Next(); {
				path = append(path, tomlStep{key: string(it.Node().Data)})
			}
			v := e.Value()
			if stepsEqual(path, steps) && v.Kind == unstable.String {
				r := v.Raw
				loc.value = &r
				return loc, nil
			}
			if inParent {
				k := e.Key()
				k.Next()
				start := int(k.Node().Raw.Offset)
				loc.indent = string(content[lineStart(content, start):start])
				loc.insertAt = lineEnd(content, int(v.Raw.Offset+v.Raw.Length))
			}
		}
	}
	if err := p.Error(); err != nil {
		return loc, errors.New("not valid TOML")
	}
	return loc, nil
}

// concreteHeader is the concrete path a [a.b] or [[a.b]] header opens.
func concreteHeader(e *unstable.Node, counts map[string]int) []tomlStep {
	var path []tomlStep
	var keys []string
	for it := e.Key(); it.Next(); {
		keys = append(keys, string(it.Node().Data))
	}
	for i, k := range keys {
		path = append(path, tomlStep{key: k})
		id := stepsString(path)
		if i == len(keys)-1 && e.Kind == unstable.ArrayTable {
			path = append(path, tomlStep{index: counts[id]})
			counts[id]++
			continue
		}
		if n, ok := counts[id]; ok {
			path = append(path, tomlStep{index: n - 1})
		}
	}
	return path
}

func lastKeyRange(e *unstable.Node) unstable.Range {
	var r unstable.Range
	for it := e.Key(); it.Next(); {
		r = it.Node().Raw
	}
	return r
}

func stepsEqual(a, b []tomlStep) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// lineEnd is the offset just after the newline ending the line at i (or
// the end of the content).
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(b)
}

func lineStart(b []byte, i int) int { return bytes.LastIndexByte(b[:i], '\n') + 1 }

// insertTOML adds `key = "value"` for a key that is absent: after the last
// line of its table, or, when the table does not exist at all, a new
// [table] at the end of the file.
func insertTOML(content []byte, steps []tomlStep, loc tomlLoc, value string) ([]byte, error) {
	nl := "\n"
	if bytes.Contains(content, []byte("\r\n")) {
		nl = "\r\n"
	}
	last := steps[len(steps)-1]
	line := tomlKey(last.key) + " = " + string(encodeTOMLString(value, false)) + nl
	if loc.parentSeen {
		at := loc.insertAt
		var pre string
		if at > 0 && content[at-1] != '\n' {
			pre = nl // the line before ends the file without a newline
		}
		return spliceBytes(content, at, at, []byte(pre+loc.indent+line)), nil
	}
	parent := steps[:len(steps)-1]
	var header []string
	for _, s := range parent {
		if s.key == "" {
			return nil, errors.New("the selected table exists but has no [[…]] header in the file, so tokenwarden cannot add the key")
		}
		header = append(header, tomlKey(s.key))
	}
	var b bytes.Buffer
	b.Write(content)
	if len(content) > 0 && !bytes.HasSuffix(content, []byte("\n")) {
		b.WriteString(nl)
	}
	if len(content) > 0 {
		b.WriteString(nl)
	}
	b.WriteString("[" + strings.Join(header, ".") + "]" + nl + line)
	return b.Bytes(), nil
}

// tomlKey writes a key bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return string(encodeTOMLString(k, false))
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

func tomlKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "table"
	case []map[string]any:
		return "array of tables"
	case []any:
		return "array"
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	}
	return "date or time"
}
