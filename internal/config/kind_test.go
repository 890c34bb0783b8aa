package config

import "testing"

// kind: names the access-token kind that matches the resource; both are
// what a token without kind: is.
func TestKindAccessTokens(t *testing.T) {
	for _, y := range []string{
		head + tok + "    kind: group_access_token\n",
		head + "tokens:\n  - name: t\n    project: g/p\n    scopes: [api]\n    kind: project_access_token\n",
	} {
		c, err := Parse("c.yaml", []byte(y))
		if err != nil {
			t.Fatalf("%s: %v", y, err)
		}
		if len(c.Tokens) != 1 || c.Tokens[0].Name != "t" {
			t.Fatalf("tokens = %+v", c.Tokens)
		}
	}
}
