package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var fileLine = regexp.MustCompile(`^fuzz\.yaml:[1-9][0-9]*: \S`)

// FuzzParse: whatever the file holds, the loader never panics, and every
// problem it reports carries the file and a line (and is one of the
// config's own errors, with its hint), never a bare parser message.
func FuzzParse(f *testing.F) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(full))
	for _, s := range []string{
		"",
		"---\n---\n",
		head,
		head + tok,
		head + "tokens: {a: 1}\n",
		head + tok + "    deliver:\n      - file: {path: /x, key: K, mode: 0777}\n      - exec: {command: [], timeout: -1s}\n",
		head + "tokens:\n  - &a {name: t, group: g, scopes: [api]}\n  - *a\n  - <<: *a\n    name: u\n",
		"gitlab: {url: 'http://[::1', token_env: 'A B'}\n",
		"gitlab: {url: https://g.example.com, token_env: A, timeout: 0.5s}\nstate: 'postgres://u:p@h/db'\n",
		"gitlab:\n  url: https://g.example.com\n  token_file: ''\nstate: sqlite://\nkey_file: ~\n",
		head + "notify:\n  - webhook: {url: ftp://x}\n    slack: {}\n  - email: {smtp_port: 99999999999999999999}\n",
		head + "serve: {listen: ':x', scan_interval: 1w1w, read_only: maybe}\n",
		head + "defaults: {lifetime: 400d, rotate_before: 500d, strategy: sideways, grace: -1h}\n",
		head + "policy: {expires_warning: 1d, expires_critical: 2d}\n",
		"a: &a [*a]\n",
		"[1, 2, 3]\n",
		"\"unterminated\n",
		"\t- tab indented\n",
		"key: !!binary Zm9v\n",
		head + "tokens:\n  - name: t\n    project: ''\n    group: g\n    scopes: [api, api]\n    access_level: 5\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Parse("fuzz.yaml", []byte(data))
		if err == nil {
			if c == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		errs := Errors(err)
		if len(errs) == 0 {
			t.Fatalf("error %q is not a config error with a file and a line", err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Line < 1 || strings.TrimSpace(e.Msg) == "" {
				t.Errorf("error without file:line or message: %#v", e)
			}
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !fileLine.MatchString(line) {
				t.Errorf("error line %q does not start with fuzz.yaml:LINE:", line)
			}
		}
	})
}
