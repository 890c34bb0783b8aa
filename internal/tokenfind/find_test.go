package tokenfind

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

const (
	pat    = "glpat-AbCdEfGhIjKlMnOp1234"
	pat2   = "glpat-ZyXwVuTsRqPoNmLk9876"
	deploy = "gldt-QwErTyUiOpAsDfGhJkLz"
)

func TestFind(t *testing.T) {
	docker := fmt.Sprintf(`{"auths":{"registry.example.com":{"auth":%q}}}`, base64.StdEncoding.EncodeToString([]byte("ci:"+pat)))
	tests := []struct {
		name  string
		value string
		file  bool
		want  []string // kind/hint/where
	}{
		{"the whole value", pat, false, []string{"access-token glpat-…1234 "}},
		{"with a newline", pat + "\n", false, []string{"access-token glpat-…1234 "}},
		{"behind Bearer", "Bearer " + pat, false, []string{"access-token glpat-…1234 "}},
		{"every kind", "gldt-QwErTyUiOpAsDfGhJkLz glrt-t1_AbCdEfGhIjKlMnOp1234 glptt-0123456789abcdef01234567 glcbt-64_AbCdEfGhIjKlMnOp1234 gloas-AbCdEfGhIjKlMnOp1234 glsoat-AbCdEfGhIjKlMnOp1234 glft-AbCdEfGhIjKlMnOp1234 glimt-AbCdEfGhIjKlMnOp1234 glagent-AbCdEfGhIjKlMnOp1234 glffct-AbCdEfGhIjKlMnOp1234 GR1348941AbCdEfGhIjKlMnOp1234", false,
			[]string{"deploy-token gldt-…JkLz ", "runner-token glrt-…1234 ", "trigger-token glptt-…4567 ", "job-token glcbt-…1234 ", "oauth-secret gloas-…1234 ", "scim-token glsoat-…1234 ", "feed-token glft-…1234 ", "incoming-mail-token glimt-…1234 ", "agent-token glagent-…1234 ", "feature-flags-token glffct-…1234 ", "runner-registration-token GR1348941…1234 "}},
		{"routable token with dots", "glpat-AbCdEfGhIjKlMnOp1234.01.0a1b2c3d4.", false, []string{"access-token glpat-…c3d4 "}},
		{"instance prefix", "acme-glpat-AbCdEfGhIjKlMnOp1234", false, []string{"access-token glpat-…1234 "}},
		{"the same token twice", pat + " " + pat, false, []string{"access-token glpat-…1234 "}},
		{"two tokens", pat + "," + pat2, false, []string{"access-token glpat-…1234 ", "access-token glpat-…9876 "}},
		{"too short", "glpat-abc", false, nil},
		{"glued to a word", "xglpat-AbCdEfGhIjKlMnOp1234", false, nil},
		{"a prefix in prose", "rotate the glpat- tokens", false, nil},
		{"not a GitLab token", "ghp_AbCdEfGhIjKlMnOp1234567890abcd", false, nil},
		{"dotenv", "REGION=eu\nGITLAB_TOKEN=\"" + pat + "\"\n", true, []string{"access-token glpat-…1234 line 2"}},
		{"netrc", "machine gitlab.example.com\nlogin ci\npassword " + pat + "\n", true, []string{"access-token glpat-…1234 line 3"}},
		{"npmrc", "@acme:registry=https://gitlab.example.com/api/v4/packages/npm/\n//gitlab.example.com/api/v4/packages/npm/:_authToken=" + pat + "\n", true, []string{"access-token glpat-…1234 line 2"}},
		{"pypirc", "[distutils]\nindex-servers = gitlab\n\n[gitlab]\nrepository = https://gitlab.example.com/api/v4/projects/1/packages/pypi\nusername = __token__\npassword = " + deploy + "\n", true, []string{"deploy-token gldt-…JkLz line 7"}},
		{"docker config.json auth", docker, true, []string{"access-token glpat-…1234 auths.registry.example.com"}},
		{"docker auth in an env_var is not decoded", docker, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Find(tt.value, tt.file)
			var desc []string
			for _, f := range got {
				desc = append(desc, f.Kind.ID+" "+f.Hint+" "+f.Where)
				if f.Digest != Digest(f.Secret) || !strings.HasPrefix(f.Digest, "sha256:") || len(f.Digest) != 23 {
					t.Errorf("digest %q", f.Digest)
				}
				if s := fmt.Sprintf("%v %+v", f, f); strings.Contains(s, f.Secret.Reveal()) {
					t.Errorf("Found prints its token: %s", s)
				}
			}
			if strings.Join(desc, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Find = %q\nwant %q", desc, tt.want)
			}
		})
	}
}

func TestFindKeepsTheWholeToken(t *testing.T) {
	f := Find("x="+pat+"; acme-"+pat2, false)
	if len(f) != 2 || f[0].Secret.Reveal() != pat || f[1].Secret.Reveal() != "acme-"+pat2 {
		t.Fatalf("Find = %+v", f)
	}
	if Digest(f[0].Secret) == Digest(f[1].Secret) {
		t.Error("different tokens, same digest")
	}
}

func TestKindOf(t *testing.T) {
	for _, k := range Kinds {
		got, ok := KindOf(k.Prefix + "AbCdEfGhIjKlMnOp1234")
		if !ok || got.ID != k.ID {
			t.Errorf("KindOf(%s…) = %v, %v", k.Prefix, got.ID, ok)
		}
	}
	if _, ok := KindOf("ghp_x"); ok {
		t.Error("KindOf(ghp_) found a GitLab kind")
	}
}
