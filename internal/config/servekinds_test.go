package config

import (
	"reflect"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// serve.kinds: the kinds serve's scans list, by scan --kind's names or all.
// Without it, serve lists group and project access tokens plus every kind
// the config manages.
func TestServeKinds(t *testing.T) {
	deploy := "tokens:\n  - name: pull\n    project: g/p\n    kind: deploy_token\n    scopes: [read_registry]\n"
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"default", head, []string{gitlab.KindGroupAccessToken, gitlab.KindProjectAccessToken}},
		{"default with a managed deploy token", head + deploy, []string{gitlab.KindGroupAccessToken, gitlab.KindProjectAccessToken, gitlab.KindDeployToken}},
		{"all", head + "serve: {kinds: all}\n", gitlab.Kinds},
		{"all in a list", head + "serve: {kinds: [deploy_token, all]}\n", gitlab.Kinds},
		{"a list", head + "serve:\n  kinds: [runner_token, deploy_token, runner_token]\n", []string{gitlab.KindRunnerToken, gitlab.KindDeployToken}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ServeKinds(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ServeKinds() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestServeKindsRejected(t *testing.T) {
	for _, tt := range []struct {
		yaml      string
		line      int
		msg, hint string
	}{
		{head + "serve:\n  kinds: [deploy_token, deploy_tokens]\n", 3, `serve.kinds[1]: "deploy_tokens" is not a credential kind`, `did you mean "deploy_token"?`},
		{head + "serve:\n  kinds: every\n", 3, `serve.kinds: "every" is not a credential kind`, "use all, or some of group_access_token"},
		{head + "serve:\n  kinds: {deploy_token: true}\n", 3, "serve.kinds must be a list", ""},
	} {
		_, err := Parse("c.yaml", []byte(tt.yaml))
		got := Errors(err)
		if len(got) != 1 || got[0].Line != tt.line || !strings.Contains(got[0].Msg, tt.msg) || !strings.Contains(got[0].Hint, tt.hint) {
			t.Errorf("%q: errors %v, want line %d %q (hint ~%q)", tt.yaml, err, tt.line, tt.msg, tt.hint)
		}
	}
}

// CanManage says what kind: accepts on a tokens: entry.
func TestCanManageAgreesWithKind(t *testing.T) {
	for _, k := range gitlab.Kinds {
		y := head + "tokens:\n  - name: t\n    project: g/p\n    kind: " + k + "\n    scopes: [read_api]\n"
		_, err := Parse("c.yaml", []byte(y))
		refused := err != nil && strings.Contains(err.Error(), "cannot be managed")
		if k == gitlab.KindGroupAccessToken {
			refused = false // needs group: rather than project:, but is managed
		}
		if CanManage(k) == refused {
			t.Errorf("CanManage(%s) = %v, but kind: %s is refused=%v: %v", k, CanManage(k), k, refused, err)
		}
	}
}
