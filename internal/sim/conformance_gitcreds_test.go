package sim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/testenv"
)

// Git over HTTP, the registry's token service and the package registry, for
// deploy tokens and access tokens (docs/gitlab-api.md, "Git, registry and
// package endpoints"): app/controllers/repositories/git_http_client_controller.rb,
// lib/gitlab/auth.rb, lib/gitlab/git_access.rb, app/controllers/jwt_controller.rb,
// app/services/auth/container_registry_authentication_service.rb,
// lib/api/generic_packages.rb, lib/api/helpers/packages/basic_auth_helpers.rb.

const (
	dtAll   = "gldt-all00000000000000000"  // project app: read_repository, read_registry, read_package_registry
	dtReg   = "gldt-registry0000000000000" // project app: read_registry, write_registry
	dtGroup = "gldt-group000000000000000"  // group platform, username mirror-bot: read_repository, write_package_registry
	dtExp   = "gldt-expired0000000000000"  // project app, expired
	dtRev   = "gldt-revoked0000000000000"  // project app, revoked
	dtOther = "gldt-other000000000000000"  // project other/lib: every read scope
	dtGone  = "gldt-deleted0000000000000"  // project app, deleted through the API

	gitRefs    = "/platform/infra/app.git/info/refs?service="
	appScope   = "/jwt/auth?service=container_registry&scope=repository:platform/infra/app:"
	appGeneric = "/projects/1/packages/generic/tool/1.0.0/tool.bin"
	realmGit   = `Basic realm="GitLab"`
	realmPkg   = `Basic realm="GitLab Packages Registry"`
)

func newGitCreds(t *testing.T) (*Server, string) {
	t.Helper()
	s, base, _ := newConformance(t, Options{})
	g, err := s.CreateGroup("other", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject("lib", g.ID); err != nil {
		t.Fatal(err)
	}
	exp, past := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), t0.Add(-time.Hour)
	for _, d := range []struct {
		kind string
		id   int64
		spec DeployTokenSpec
	}{
		{"project", 1, DeployTokenSpec{Name: "all", Scopes: []string{"read_repository", "read_registry", "read_package_registry"}, ExpiresAt: &exp, Secret: dtAll}},
		{"project", 1, DeployTokenSpec{Name: "registry", Scopes: []string{"read_registry", "write_registry"}, Secret: dtReg}},
		{"group", 1, DeployTokenSpec{Name: "group", Username: "mirror-bot", Scopes: []string{"read_repository", "write_package_registry"}, Secret: dtGroup}},
		{"project", 1, DeployTokenSpec{Name: "old", Username: "old-bot", Scopes: []string{"read_repository", "read_registry", "read_package_registry"}, ExpiresAt: &past, Secret: dtExp}},
		{"project", 1, DeployTokenSpec{Name: "revoked", Username: "rev-bot", Scopes: []string{"read_repository", "read_registry", "read_package_registry"}, Revoked: true, Secret: dtRev}},
		{"project", 2, DeployTokenSpec{Name: "other", Username: "other-bot", Scopes: []string{"read_repository", "read_registry", "read_package_registry"}, Secret: dtOther}},
		{"project", 1, DeployTokenSpec{Name: "gone", Username: "gone-bot", Scopes: []string{"read_repository"}, Secret: dtGone}},
	} {
		if _, _, err := s.CreateDeployToken(d.kind, d.id, d.spec); err != nil {
			t.Fatal(err)
		}
	}
	runSteps(t, base, []step{{name: "delete one", method: "DELETE", path: "/projects/1/deploy_tokens/7", token: carolSecret, code: 204}})
	return s, base
}

func TestConformanceGitHTTP(t *testing.T) {
	s, base := newGitCreds(t)
	denied := []string{"HTTP Basic: Access denied. If a password was provided for Git authentication", "/help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied"}
	refused := func(name, basic string) step {
		return step{name: name, path: gitRefs + "git-upload-pack", basic: basic, code: 401, contains: denied, header: map[string]string{"Www-Authenticate": realmGit}}
	}
	runSteps(t, base, []step{
		{name: "deploy token clones", path: gitRefs + "git-upload-pack", basic: "gitlab+deploy-token-1:" + dtAll, code: 200,
			want:   "001e# service=git-upload-pack\n0000" + pktLine(strings.Repeat("0", 40)+" capabilities^{}\x00multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress include-tag object-format=sha1 agent=git/gitlab-sim\n") + "0000",
			header: map[string]string{"Content-Type": "application/x-git-upload-pack-advertisement", "Cache-Control": "no-cache"}},
		{name: "a deploy token never pushes", path: gitRefs + "git-receive-pack", basic: "gitlab+deploy-token-1:" + dtAll, code: 403, want: "You are not allowed to upload code."},
		{name: "no read_repository", path: gitRefs + "git-upload-pack", basic: "gitlab+deploy-token-2:" + dtReg, code: 403, want: "You are not allowed to download code."},
		{name: "a group's token reaches its projects", path: gitRefs + "git-upload-pack", basic: "mirror-bot:" + dtGroup, code: 200},
		refused("wrong username", "someone:"+dtAll),
		refused("the username is case-sensitive", "GITLAB+DEPLOY-TOKEN-1:"+dtAll),
		refused("expired", "old-bot:"+dtExp),
		refused("revoked", "rev-bot:"+dtRev),
		refused("deleted", "gone-bot:"+dtGone),
		refused("another project's token", "other-bot:"+dtOther),
		refused("no credentials", ""),
		refused("an expired access token", "alice:"+expSecret),
		{name: "unknown project", path: "/platform/nope.git/info/refs?service=git-upload-pack", basic: "gitlab+deploy-token-1:" + dtAll, code: 404, want: msgGitNoProject},
		{name: "access token, any username", path: gitRefs + "git-upload-pack", basic: "whatever:" + aliceRepo, code: 200},
		{name: "read_repository does not push", path: gitRefs + "git-receive-pack", basic: "alice:" + aliceRepo, code: 403, want: "You are not allowed to upload code."},
		{name: "api pushes (Owner)", path: gitRefs + "git-receive-pack", basic: "alice:" + aliceSecret, code: 200,
			header: map[string]string{"Content-Type": "application/x-git-receive-pack-advertisement"}},
		{name: "no member: 404", path: gitRefs + "git-upload-pack", basic: "dave:" + daveSecret, code: 404, want: msgGitNoProject},
		{name: "unknown command", path: "/platform/infra/app.git/info/refs", basic: "alice:" + aliceSecret, code: 403, want: "The command you're trying to execute is not allowed."},
		{name: "a deploy token is not an API token", path: "/user", token: dtAll, code: 401, want: body401},
		{name: "…nor with its username", path: "/user", basic: "gitlab+deploy-token-1:" + dtAll, code: 401, want: body401},
	})
	if r := doWith(t, "HEAD", base+gitRefs+"git-upload-pack", "", "", "alice:"+aliceSecret, nil); r.code != 403 {
		t.Errorf("HEAD info/refs = %d, want 403", r.code)
	}
	if !s.DeployTokenValid("gitlab+deploy-token-1", dtAll, "read_repository") || s.DeployTokenValid("GITLAB+DEPLOY-TOKEN-1", dtAll, "read_repository") {
		t.Error("DeployTokenValid does not match the username exactly, as Git does")
	}
}

func TestConformanceRegistryAuth(t *testing.T) {
	s, base := newGitCreds(t)
	unauthorized := []string{`{"errors":[{"code":"UNAUTHORIZED","message":"HTTP Basic: Access denied. If a password`, `/help/user/profile/account/two_factor_authentication_troubleshooting.md#error-http-basic-access-denied-if-a-password-was-provided-for-git-authentication-"}]}`}
	denied := `{"errors":[{"code":"DENIED","message":"access forbidden"}]}`
	runSteps(t, base, []step{
		{name: "wrong username", path: appScope + "pull", basic: "someone:" + dtAll, code: 401, contains: unauthorized},
		{name: "expired", path: appScope + "pull", basic: "old-bot:" + dtExp, code: 401, contains: unauthorized},
		{name: "revoked", path: appScope + "pull", basic: "rev-bot:" + dtRev, code: 401, contains: unauthorized},
		{name: "deleted", path: appScope + "pull", basic: "gone-bot:" + dtGone, code: 401, contains: unauthorized},
		{name: "an access token without registry scopes", path: appScope + "pull", basic: "alice:" + aliceRepo, code: 403, want: denied},
		{name: "the registry is not the REST API", path: "/user", send: map[string]string{"Authorization": "Bearer " + dtReg}, code: 401, want: body401},
		{name: "no registry scope", path: appScope + "pull", basic: "mirror-bot:" + dtGroup, code: 403, want: denied},
		{name: "anonymous gets nothing", path: appScope + "pull", code: 403, want: denied},
		{name: "another service", path: "/jwt/auth?service=other", basic: "gitlab+deploy-token-1:" + dtAll, code: 404, want: ""},
	})
	meta := map[string]any{"project_path": "platform/infra/app", "project_id": float64(1), "root_namespace_id": float64(1)}
	for _, tt := range []struct {
		name, basic, scope string
		want               []any
		sub                string
	}{
		{"read_registry pulls, does not push", "gitlab+deploy-token-1:" + dtAll, "pull,push", []any{grant("platform/infra/app", meta, "pull")}, ""},
		{"write_registry pushes", "gitlab+deploy-token-2:" + dtReg, "pull,push", []any{grant("platform/infra/app", meta, "pull", "push")}, ""},
		{"another project: no access", "other-bot:" + dtOther, "pull", []any{}, ""},
		{"an image below the project", "gitlab+deploy-token-1:" + dtAll, "pull", []any{grant("platform/infra/app/web", meta, "pull")}, ""},
		{"read_api pulls", "alice:" + aliceRead, "pull,push", []any{grant("platform/infra/app", meta, "pull")}, "alice"},
		{"api, Maintainer", "x:" + carolSecret, "pull,push,delete", []any{grant("platform/infra/app", meta, "pull", "push", "delete")}, "carol"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := appScope + tt.scope
			if strings.Contains(tt.name, "image below") {
				path = strings.Replace(path, "app:", "app/web:", 1)
			}
			r := doWith(t, "GET", base+path, "", "", tt.basic, nil)
			if r.code != 200 {
				t.Fatalf("= %d %s", r.code, r.body)
			}
			var body struct{ Token string }
			if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Token == "" {
				t.Fatalf("body %s: %v", r.body, err)
			}
			claims := verifyJWT(t, s, body.Token)
			if got, _ := json.Marshal(claims["access"]); string(got) != mustJSON(t, tt.want) {
				t.Errorf("access = %s, want %s", got, mustJSON(t, tt.want))
			}
			wantType := "deploy_token"
			if tt.sub != "" {
				wantType = "personal_access_token"
			}
			if claims["aud"] != "container_registry" || claims["iss"] != "gitlab-issuer" || claims["auth_type"] != wantType ||
				claims["exp"].(float64)-claims["iat"].(float64) != 300 || claims["sub"] != map[bool]any{true: nil, false: tt.sub}[tt.sub == ""] {
				t.Errorf("claims %v", claims)
			}
			info := verifyJWT(t, s, claims["user"].(string))["user_info"].(map[string]any)
			if (tt.sub == "") != (info["deploy_token_id"] != nil) || info["token_type"] != wantType {
				t.Errorf("user_info %v", info)
			}
		})
	}
}

func grant(name string, meta map[string]any, actions ...string) map[string]any {
	return map[string]any{"type": "repository", "name": name, "actions": actions, "meta": meta}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// verifyJWT checks an RS256 JWT against the emulator's registry key and
// returns its claims.
func verifyJWT(t *testing.T, s *Server, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	key, err := s.RegistryKey()
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var head, claims map[string]any
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &head) != nil || json.Unmarshal(b, &claims) != nil || head["alg"] != "RS256" || head["kid"] == "" {
		t.Fatalf("header %s claims %s", h, b)
	}
	return claims
}

func TestConformanceGenericPackages(t *testing.T) {
	_, base := newGitCreds(t)
	octet := map[string]string{"Content-Type": "application/octet-stream"}
	with := func(secret string) map[string]string { return map[string]string{"Deploy-Token": secret} }
	put := func(name string, hdr map[string]string, basic string, code int, want string) step {
		h := map[string]string{"Content-Type": "application/octet-stream"}
		for k, v := range hdr {
			h[k] = v
		}
		return step{name: name, method: "PUT", path: appGeneric, body: "binary", send: h, basic: basic, code: code, want: want}
	}
	unauthorized := func(name string, hdr map[string]string, basic string) step {
		return step{name: name, path: appGeneric, send: hdr, basic: basic, code: 401, want: body401, header: map[string]string{"Www-Authenticate": realmPkg}}
	}
	notFound := `{"message":"404 Not Found"}`
	runSteps(t, base, []step{
		put("upload: write_package_registry (group token)", with(dtGroup), "", 201, `{"message":"201 Created"}`),
		put("upload: read_package_registry only", with(dtAll), "", 403, `{"message":"403 Forbidden"}`),
		put("upload: no package scope", with(dtReg), "", 404, notFound),
		put("upload: anonymous", nil, "", 401, body401),
		{name: "download (Deploy-Token header)", path: appGeneric, send: with(dtAll), code: 200, want: "binary",
			header: map[string]string{"Content-Type": "application/octet-stream", "X-Checksum-SHA256": sha256hex("binary"),
				"Content-Disposition": `attachment; filename="tool.bin"; filename*=UTF-8''tool.bin`}},
		{name: "download (Basic, the username is not checked)", path: appGeneric, basic: "anyone:" + dtAll, code: 200, want: "binary"},
		{name: "download: no package scope", path: appGeneric, send: with(dtReg), code: 404, want: notFound},
		{name: "download: another project's token", path: appGeneric, send: with(dtOther), code: 404, want: notFound},
		unauthorized("download: expired", with(dtExp), ""),
		unauthorized("download: revoked (Basic)", nil, "rev-bot:"+dtRev),
		unauthorized("download: deleted", with(dtGone), ""),
		{name: "download: no such file", path: "/projects/1/packages/generic/tool/1.0.0/other.bin", send: with(dtAll), code: 404, want: `{"message":"404 Not found"}`},
		{name: "download: access token (PRIVATE-TOKEN)", path: appGeneric, token: carolSecret, code: 200, want: "binary"},
		{name: "download: access token (Basic)", path: appGeneric, basic: "x:" + bobSecret, code: 200, want: "binary"},
		{name: "download: not a member", path: appGeneric, token: daveSecret, code: 404, want: notFound},
		{name: "download: expired access token", path: appGeneric, token: expSecret, code: 401, contains: []string{"Token is expired"}},
		{name: "upload: Developer", method: "PUT", path: "/projects/1/packages/generic/tool/1.0.1/tool.bin", token: bobSecret, body: "v2", send: octet, code: 201},
		{name: "the list takes no deploy token", path: "/projects/1/packages", send: with(dtAll), code: 404, want: `{"message":"404 Project Not Found"}`},
		{name: "…nor Basic", path: "/projects/1/packages", basic: "gitlab+deploy-token-1:" + dtAll, code: 404, want: `{"message":"404 Project Not Found"}`},
		{name: "the list (Reporter+)", path: "/projects/1/packages", token: carolSecret, code: 200,
			contains: []string{`"name":"tool","version":"1.0.0","package_type":"generic","status":"default"`, `"version":"1.0.1"`}},
	})
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestGitClient: the git client itself takes the emulator's ref
// advertisement (an empty repository) with a deploy token, and shows
// GitLab's refusal for a wrong username.
func TestGitClient(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		testenv.Missing(t, "git is not installed (apt-get install git)")
	}
	_, base := newGitCreds(t)
	lsRemote := func(user, secret string) (string, error) {
		u, err := url.Parse(base + "/platform/infra/app.git")
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(user, secret)
		cmd := exec.Command(git, "ls-remote", u.String())
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_ASKPASS=true")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := lsRemote("gitlab+deploy-token-1", dtAll); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("git ls-remote with the deploy token: %v\n%s", err, out)
	}
	out, err := lsRemote("someone", dtAll)
	if err == nil || !strings.Contains(out, "HTTP Basic: Access denied") {
		t.Errorf("git ls-remote with a wrong username: %v\n%s", err, out)
	}
	if strings.Contains(out, dtAll) {
		t.Errorf("git printed the token:\n%s", out)
	}
}
