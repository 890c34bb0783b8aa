package config

import (
	"reflect"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// sloppy is a managed token that scan would flag three times over.
const sloppy = head + `tokens:
  - name: test
    group: acme
    scopes: [api]
    access_level: owner
  - name: deploy-app
    description: deploys the app
    group: acme
    scopes: [read_api]
`

// Without policy.enforce, a config that asks for what scan flags loads, and
// says what scan would flag, where.
func TestPolicyWarnings(t *testing.T) {
	c, err := Parse("tw.yaml", []byte(sloppy))
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		ref, code string
		line      int
	}
	var list []got
	for _, w := range c.PolicyWarnings() {
		if w.Finding.Message == "" || w.Finding.Fix == "" {
			t.Errorf("warning without message or fix: %+v", w)
		}
		list = append(list, got{w.Token.Ref(), w.Finding.Code, w.Line})
	}
	want := []got{
		{"group/acme:test", policy.CodeOverPrivileged, 5},
		{"group/acme:test", policy.CodeUndescriptiveName, 3},
		{"group/acme:test", policy.CodeNoDescription, 3},
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("warnings = %v, want %v", list, want)
	}
}

// A lifetime over scan's default maximum (180d) is a warning; one over an
// explicit policy.max_lifetime has always been a config error.
func TestPolicyWarningLongLived(t *testing.T) {
	c, err := Parse("tw.yaml", []byte(head+"tokens:\n  - name: deploy-app\n    description: deploys\n    group: acme\n    scopes: [read_api]\n    lifetime: 200d\n"))
	if err != nil {
		t.Fatal(err)
	}
	ws := c.PolicyWarnings()
	if len(ws) != 1 || ws[0].Finding.Code != policy.CodeLongLived || ws[0].Line != 7 {
		t.Fatalf("warnings = %+v, want one long-lived on line 7", ws)
	}
	if !strings.Contains(ws[0].Finding.Message, "lifetime 200d is over the policy maximum 180d") {
		t.Errorf("message = %q", ws[0].Finding.Message)
	}
}

// policy.enforce turns each warning into a config error at its line, with
// the fix as hint; nothing else changes.
func TestPolicyEnforce(t *testing.T) {
	_, err := Parse("tw.yaml", []byte(sloppy+"policy: {enforce: true}\n"))
	if err == nil {
		t.Fatal("a config that breaks its own enforced policy loaded")
	}
	errs := Errors(err)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
		if e.Hint == "" {
			t.Errorf("no hint: %v", e)
		}
	}
	want := []string{
		`tw.yaml:3: token "test": undescriptive-name: the name "test" does not say what uses it (policy.enforce)`,
		`tw.yaml:3: token "test": no-description: has no description (policy.enforce)`,
		`tw.yaml:5: token "test": over-privileged: has scope api and owner access: a leak controls group acme and all below it (policy.enforce)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	c, err := Parse("tw.yaml", []byte(head+"tokens:\n  - name: deploy-app\n    description: deploys\n    group: acme\n    scopes: [read_api]\npolicy: {enforce: true}\n"))
	if err != nil {
		t.Fatalf("a config within its policy: %v", err)
	}
	if !c.Policy.Enforce || len(c.PolicyWarnings()) != 0 {
		t.Errorf("enforce = %v, warnings = %v", c.Policy.Enforce, c.PolicyWarnings())
	}
}

// An explicit max_lifetime is reported once, enforced or not.
func TestPolicyEnforceMaxLifetimeOnce(t *testing.T) {
	_, err := Parse("tw.yaml", []byte(head+"tokens:\n  - name: deploy-app\n    description: deploys\n    group: acme\n    scopes: [read_api]\n    lifetime: 60d\npolicy: {enforce: true, max_lifetime: 30d}\n"))
	errs := Errors(err)
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, "over policy.max_lifetime 30d") {
		t.Errorf("errors = %v, want the one max_lifetime error", errs)
	}
}

// Policy errors come with the others, all at once, without repeating them.
func TestPolicyEnforceWithOtherErrors(t *testing.T) {
	_, err := Parse("tw.yaml", []byte(head+"tokens:\n  - group: acme\n    scopes: [api]\n  - name: test\n    description: x\n    group: acme\n    scopes: [read_apii]\npolicy: {enforce: true}\n"))
	var got []string
	for _, e := range Errors(err) {
		got = append(got, e.Error())
	}
	want := []string{
		`tw.yaml:3: tokens[0]: name is required`,
		`tw.yaml:5: token "test": undescriptive-name: the name "test" does not say what uses it (policy.enforce)`,
		`tw.yaml:8: token "test": unknown scope "read_apii"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
