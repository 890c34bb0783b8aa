package file

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The fuzz targets check the read/modify/write of each keyed format on any
// file content: whatever set writes reads back as the value, every other key
// keeps its value (and, for YAML, every comment survives), and a second
// rotation changes nothing but the value (setting v1, v2 then v1 again gives
// the bytes of the first write). Their seed corpus runs in `go test`; run
// one for longer with e.g.
//
//	go test -run '^$' -fuzz '^FuzzYAML$' -fuzztime 2m ./internal/sink/file/

const (
	fuzzV1 = "glpat-AAAAAAAAAAAAAAAAAAAA"
	fuzzV2 = "glpat-BBBBBBBBBBBBBBBBBBBB"
)

// rotateTwice checks the round trip: set v then v2 then v again on the
// result of the first write gives the first write's bytes, and setting the
// value it already holds changes nothing.
func rotateTwice(t *testing.T, f format, n1 []byte, key, v string) {
	t.Helper()
	again, err := f.set(n1, key, v)
	if err != nil {
		t.Fatalf("set on our own output: %v\n%s", err, n1)
	}
	if !bytes.Equal(again, n1) {
		t.Fatalf("setting the value the file holds changed it:\n%q\n->\n%q", n1, again)
	}
	n2, err := f.set(n1, key, fuzzV2)
	if err != nil {
		t.Fatalf("second set: %v\n%s", err, n1)
	}
	n3, err := f.set(n2, key, v)
	if err != nil {
		t.Fatalf("third set: %v\n%s", err, n2)
	}
	if !bytes.Equal(n3, n1) {
		t.Fatalf("rotating back does not give the same file:\n%q\n->\n%q\n->\n%q", n1, n2, n3)
	}
}

func FuzzDotenv(f *testing.F) {
	for _, s := range []string{
		"", "A=1\n", "# comment\nTOKEN=old\n\nB='x y' # keep\n", "export TOKEN = \"old\"\nOTHER=2\n",
		"A=1\r\nTOKEN=old\r\n", "TOKEN_OLD=keep\n", "TOKEN=a\nTOKEN=b\n", "TOKEN=\"a\\\"b\" # c\n", "A=1",
		"TOKEN='unterminated\n", "  TOKEN\t=\tx y # z\n", "exportTOKEN=1\n", "export\tTOKEN=1\n",
	} {
		f.Add(s, "TOKEN", fuzzV1)
	}
	f.Add("A=1\n", "A", "a b#c$HOME\"'\\`\n\r\t")
	f.Add("X=1\n", "export", "")
	f.Fuzz(func(t *testing.T, content, key, v string) {
		if !dotenvKey.MatchString(key) {
			return
		}
		var d dotenv
		if _, _, err := d.get([]byte(content), key); err != nil {
			return // the sink refuses the file as it is
		}
		next, err := d.set([]byte(content), key, v)
		if err != nil {
			t.Fatalf("set: %v", err)
		}
		if got, ok, err := d.get(next, key); err != nil || !ok || got != v {
			t.Fatalf("get after set = %q, %v, %v; want %q\n%q", got, ok, err, v, next)
		}
		// Every line that does not assign key is kept, in order.
		var before, after []string
		for _, l := range strings.Split(content, "\n") {
			if _, _, ok := dotenvLine(strings.TrimSuffix(l, "\r"), key); !ok {
				before = append(before, l)
			}
		}
		for _, l := range strings.Split(string(next), "\n") {
			if _, _, ok := dotenvLine(strings.TrimSuffix(l, "\r"), key); !ok {
				after = append(after, l)
			}
		}
		if len(after) > 0 && after[len(after)-1] == "" && (len(before) == 0 || before[len(before)-1] != "") {
			after = after[:len(after)-1] // the newline added after the last line
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("other lines changed:\n%q\n->\n%q", before, after)
		}
		rotateTwice(t, d, next, key, v)
	})
}

// jsonOracle sets key in a tree decoded by encoding/json — an independent
// model of what the file must mean after the write.
func jsonOracle(root map[string]any, segs []string, v string) {
	cur := root
	for _, s := range segs[:len(segs)-1] {
		next, ok := cur[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[s] = next
		}
		cur = next
	}
	cur[segs[len(segs)-1]] = v
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(bytes.TrimSpace(b)) == 0 {
		return m
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("encoding/json cannot read %q: %v", b, err)
	}
	return m
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		"", "{}", `{"z": 1, "token": "old", "a": {"b": [true, null, 1.50]}}`, `{"registry": {"url": "r.example.com"}}`,
		`{"token": {"a": 1}}`, `{"a": "x"}`, `[1]`, `{"token": `, `{"token": null}`, `{"token": "a", "token": "b"}`,
		`{"a": {"token": "x"}, "a": {"other": 1}}`, "{\"\\u00e9\": \"\\ud83d\\ude00\"}", `{"n": 1e400, "m": -0.0}`, ` {"a":1} `,
	} {
		f.Add(s, "token", fuzzV1)
		f.Add(s, "a.token", fuzzV1)
	}
	f.Add(`{"a":1}`, "a.b.c", "\x00\u2028</script>\"\\")
	f.Fuzz(func(t *testing.T, content, key, v string) {
		if checkKeyPath(key) != nil || !utf8.ValidString(v) {
			return // a value JSON cannot carry is refused by Put's read-back
		}
		var j jsonFormat
		if _, _, err := j.get([]byte(content), key); err != nil {
			return
		}
		next, err := j.set([]byte(content), key, v)
		if err != nil {
			return // e.g. a null or a number where an object is needed: refused, nothing written
		}
		if got, ok, err := j.get(next, key); err != nil || !ok || got != v {
			t.Fatalf("get after set = %q, %v, %v; want %q\n%s", got, ok, err, v, next)
		}
		if !utf8.ValidString(content) {
			return // encoding/json replaces invalid UTF-8: the oracle cannot compare
		}
		want := decodeJSON(t, []byte(content))
		jsonOracle(want, strings.Split(key, "."), v)
		if got := decodeJSON(t, next); !reflect.DeepEqual(got, want) {
			t.Fatalf("file means\n%v\nwant\n%v\n%s", got, want, next)
		}
		// The top-level keys keep their order.
		orig, _ := parseJSON([]byte(content))
		now, _ := parseJSON(next)
		for i, m := range orig {
			if now[i].key != m.key {
				t.Fatalf("key order changed: %q is now %q\n%s", m.key, now[i].key, next)
			}
		}
		rotateTwice(t, j, next, key, v)
	})
}

// yamlComments lists the comments of a parsed YAML file.
func yamlComments(n *yaml.Node, out []string) []string {
	if n == nil {
		return out
	}
	for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
		for _, l := range strings.Split(c, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	for _, c := range n.Content {
		out = yamlComments(c, out)
	}
	return out
}

// yamlOracle sets key in a tree decoded by yaml.v3 into plain maps; false
// when the path goes through something the oracle does not model.
func yamlOracle(root any, segs []string, v string) bool {
	cur, ok := root.(map[string]any)
	if !ok {
		return false
	}
	for _, s := range segs[:len(segs)-1] {
		switch next := cur[s].(type) {
		case map[string]any:
			cur = next
		case nil:
			if _, there := cur[s]; there {
				return false
			}
			m := map[string]any{}
			cur[s] = m
			cur = m
		default:
			return false
		}
	}
	cur[segs[len(segs)-1]] = v
	return true
}

func FuzzYAML(f *testing.F) {
	for _, s := range []string{
		"", "token: old\n", "# app config\nname: app # the name\nregistry:\n  # rotated by tokenwarden\n  token: old\n  url: r.example.com\n",
		"token: 'old'\n", "b: 1\n", "token:\n  a: 1\n", "a: 1\n---\nb: 2\n", "- a\n", "token: &t old\nother: *t\n",
		"base: &b {token: old}\nderived:\n  <<: *b\n", "a:\n  token: old # line\n# foot\n", "token: |\n  old\n", "{a: 1, token: x}\n",
		"token: null\n", "token: ~\n", "1: one\ntoken: x\n", "token: \"a\\tb\"\n", "? complex\n: value\n",
	} {
		f.Add(s, "token", fuzzV1)
		f.Add(s, "a.token", fuzzV1)
	}
	f.Add("a: 1\n", "a", "- item: true # not a comment\n\"quoted\"\t\x01")
	f.Fuzz(func(t *testing.T, content, key, v string) {
		if checkKeyPath(key) != nil || !utf8.ValidString(v) {
			return // a value YAML cannot carry as a string is refused by Put's read-back
		}
		var y yamlFormat
		if _, _, err := y.get([]byte(content), key); err != nil {
			return
		}
		next, err := y.set([]byte(content), key, v)
		if err != nil {
			return // refused, nothing written
		}
		if got, ok, err := y.get(next, key); err != nil || !ok || got != v {
			t.Fatalf("get after set = %q, %v, %v; want %q\n%s", got, ok, err, v, next)
		}
		var want, got any
		if yaml.Unmarshal([]byte(content), &want) == nil && yamlOracle(want, strings.Split(key, "."), v) {
			if err := yaml.Unmarshal(next, &got); err != nil {
				t.Fatalf("yaml.v3 cannot read our output: %v\n%s", err, next)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("file means\n%#v\nwant\n%#v\n%s", got, want, next)
			}
		}
		doc, _ := parseYAML([]byte(content))
		nextDoc, err := parseYAML(next)
		if err != nil {
			t.Fatal(err)
		}
		kept := strings.Join(yamlComments(nextDoc, nil), "\n")
		for _, c := range yamlComments(doc, nil) {
			if !strings.Contains(kept, c) {
				t.Fatalf("comment %q lost:\n%s\n->\n%s", c, content, next)
			}
		}
		rotateTwice(t, y, next, key, v)
	})
}
