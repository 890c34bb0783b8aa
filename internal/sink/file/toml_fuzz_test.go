package file

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// FuzzTOML checks the TOML edit on any file content and key path: what set
// writes reads back as the value; the edit is local (every byte before and
// after the changed region kept, the removed bytes within one line unless
// the old value is a multi-line string, at most a table header, a blank line
// and the key added); the file means what it
// meant with the one key set, to BurntSushi/toml; and rotating back gives
// the same bytes. Run it for longer with
//
//	go test -run '^$' -fuzz '^FuzzTOML$' -fuzztime 2m ./internal/sink/file/
func FuzzTOML(f *testing.F) {
	runner := "# ops\nconcurrent = 4\n[[runners]]\n  name = \"a\"\n  token = \"glrt-OLD\" # c\n  [runners.docker]\n    image = \"x\"\n" +
		"[[runners]]\n  name = 'b.c'\n  token = 'glrt-OLD2'\n"
	for _, s := range []string{
		"", runner, "token = \"old\"\n", "token = 'old'\n", "[t]\ntoken = \"\"\"\nold\"\"\"\n", "a.token = \"x\"\n",
		"token = 5\n", "[token]\n", "r = {token = \"x\"}\n", "runners = [{name = \"a\", token = \"x\"}]\n",
		"[[runners]]\nname = \"a\"\n[[runners]]\nname = \"a\"\n", "a = 1\r\n[t]\r\nb = 2\r\n", "x = 1", "[a.b]\n[a]\nc = 1\n",
		"[[runners]]\nname = \"a\"\n[runners.x]\ny = 1\n[[runners]]\nname = \"b\"\n", "t = 1979-05-27T07:32:00Z\nf = nan\n",
	} {
		for _, k := range []string{"token", "runners[name=a].token", "runners[name=b.c].token", "t.token", "a.token"} {
			f.Add(s, k, "glrt-NEWNEWNEWNEWNEW")
		}
	}
	f.Add("token = 'old'\n", "token", "it's\n\"quoted\"\\\x7f\x00é")
	f.Fuzz(func(t *testing.T, content, key, v string) {
		if _, err := parseTOMLPath(key); err != nil || !utf8.ValidString(v) {
			return
		}
		var tf tomlFormat
		if _, _, err := tf.get([]byte(content), key); err != nil {
			return // refused as it is
		}
		next, err := tf.set([]byte(content), key, v)
		if err != nil {
			return // refused, nothing written
		}
		if got, ok, err := tf.get(next, key); err != nil || !ok || got != v {
			t.Fatalf("get after set = %q, %v, %v; want %q\n%q", got, ok, err, v, next)
		}
		// Local: a common prefix and suffix, the rest within one line.
		p := 0
		for p < len(content) && p < len(next) && content[p] == next[p] {
			p++
		}
		s := 0
		for s < len(content)-p && s < len(next)-p && content[len(content)-1-s] == next[len(next)-1-s] {
			s++
		}
		removed, added := content[p:len(content)-s], next[p:len(next)-s]
		line := content[strings.LastIndexByte(content[:p], '\n')+1:]
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		multiline := strings.Contains(line, `"""`) || strings.Contains(line, "'''")
		if strings.Contains(removed, "\n") && !multiline {
			t.Fatalf("the edit removed more than one line's bytes: %q\n%q\n->\n%q", removed, content, next)
		}
		if n := bytes.Count(added, []byte("\n")); n > 4 {
			t.Fatalf("the edit added %d lines: %q", n, added)
		}
		// The meaning: BurntSushi's decode of both files, with the key set.
		var before, after map[string]any
		if _, err := toml.Decode(content, &before); err != nil {
			t.Fatalf("set accepted a file BurntSushi refuses: %v", err)
		}
		if _, err := toml.Decode(string(next), &after); err != nil {
			t.Fatalf("set wrote a file BurntSushi refuses: %v\n%q", err, next)
		}
		segs, _ := parseTOMLPath(key)
		steps, _, _, err := resolveTOML(before, segs, key)
		if err != nil {
			t.Fatal(err)
		}
		if before == nil {
			before = map[string]any{}
		}
		if err := tomlOracle(before, steps, v); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("file means\n%#v\nwant\n%#v\n%q", after, before, next)
		}
		rotateTwice(t, tf, next, key, v)
	})
}
