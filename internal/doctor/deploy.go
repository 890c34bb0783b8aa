package doctor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// A deploy token (gldt-) is a username plus a secret that works for Git over
// HTTP, the container registry and the package registry of its project (or
// its group's projects), and never for the REST API. doctor checks it where
// it works, without writing anything (docs/gitlab-api.md, "Git, registry and
// package endpoints"):
//
//   - Git: GET /<project>.git/info/refs?service=git-upload-pack, HTTP Basic
//     username:token — 200 with read_repository, 403 without, 401 when the
//     token, its username or its project is wrong;
//   - the registry: GET /jwt/auth?service=container_registry&scope=
//     repository:<project>:pull,push — the JWT's access claim lists what the
//     token may do; 403 DENIED without a registry scope; 401 when the token
//     or its username is wrong (the project plays no part in the login);
//   - generic packages: GET /api/v4/projects/:id/packages/generic/… with a
//     Deploy-Token header, which GitLab matches without the username: 401 the
//     token is unknown (expired, revoked or deleted), 404 "404 Not Found" no
//     package scope for the project, 404 "404 Not found" (the package does
//     not exist) it may read packages.
//
// Comparing the three tells an unknown token from a wrong username from a
// token of another project. Upload rights (write_package_registry) cannot be
// seen without uploading; doctor does not try.

// isDeploy: the token under examination is a deploy token.
func (s *session) isDeploy() bool {
	_, _, bare := strayParts(s.in.Token.Reveal())
	return strings.HasPrefix(bare, "gldt-")
}

// deployNeeds are the --need scopes a deploy token can stand for.
var deployNeeds = []string{"read_repository", "write_repository", "read_registry", "write_registry"}

// deployShape: a deploy token passes the shape check only when doctor can
// check it where it works: on --project, for needs that are not the API.
func (s *session) deployShape() (Result, bool) {
	for _, n := range s.in.Needs {
		if !slices.Contains(deployNeeds, n.Scope) {
			return Result{}, false
		}
	}
	if s.in.Project == "" {
		return Result{}, false
	}
	return pass(fmt.Sprintf("a deploy token (gldt-): checked on Git, the container registry and the package registry of project %s", s.in.Project)), true
}

// answer is what one probe got back.
type answer struct {
	status int
	body   string
	err    error
}

type deployProbes struct {
	git, registry, packages answer
}

// probe runs the three requests once per session.
func (s *session) probe(ctx context.Context) *deployProbes {
	if s.deploy != nil {
		return s.deploy
	}
	tok := s.clean()
	p := &deployProbes{}
	basic := func(r *http.Request) { r.SetBasicAuth(s.in.Username, tok) }
	if s.in.Username != "" {
		p.git = s.get(ctx, s.baseURL+"/"+s.in.Project+".git/info/refs?service=git-upload-pack", basic)
		p.registry = s.get(ctx, s.baseURL+"/jwt/auth?service=container_registry&scope="+url.QueryEscape("repository:"+strings.ToLower(s.in.Project)+":pull,push"), basic)
	}
	p.packages = s.get(ctx, s.baseURL+"/api/v4/projects/"+url.PathEscape(s.in.Project)+"/packages/generic/tokenwarden-doctor/0.0.0/probe",
		func(r *http.Request) { r.Header.Set("Deploy-Token", tok) })
	s.deploy = p
	return p
}

// clean is the token without stray whitespace, quotes or prefix (the clean
// check has warned about them already).
func (s *session) clean() string {
	_, _, bare := strayParts(s.in.Token.Reveal())
	return bare
}

func (s *session) get(ctx context.Context, u string, auth func(*http.Request)) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("User-Agent", "tokenwarden-doctor")
	auth(req)
	resp, err := s.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return answer{status: resp.StatusCode, body: string(b)}
}

// checkDeployValid: GitLab knows the token, with this username, for this
// project.
func checkDeployValid(ctx context.Context, s *session) Result {
	p := s.probe(ctx)
	for _, a := range []answer{p.git, p.registry, p.packages} {
		if a.err != nil {
			return fail(fmt.Sprintf("%s did not answer: %s", s.baseURL, plainError(a.err)), "check the network path to the instance, then run doctor again")
		}
	}
	proj := "project " + s.in.Project
	switch {
	case p.packages.status == http.StatusUnauthorized:
		return s.deployUnknown(ctx)
	case s.in.Username == "":
		return fail("GitLab knows the token, but no username was given: Git and the registry need the deploy token's username with it",
			"pass --username NAME or set CI_DEPLOY_USER: the username is shown next to the token in "+proj+" (or its group) > Settings > Repository > Deploy tokens; GitLab's default is gitlab+deploy-token-<id>")
	case p.registry.status == http.StatusUnauthorized:
		return fail(fmt.Sprintf("GitLab knows the token, but not with username %q (%s); Git and the registry check the username, case-sensitively", s.in.Username, s.in.UsernameSource),
			"use the username shown next to the token in "+proj+" (or its group) > Settings > Repository > Deploy tokens (GitLab's default is gitlab+deploy-token-<id>)")
	case p.git.status == http.StatusUnauthorized:
		return fail(fmt.Sprintf("the token and its username %q are right, but the token does not work for %s: it belongs to another project or group", s.in.Username, proj),
			fmt.Sprintf("use a deploy token of %s or of a group above it, or check --project", proj))
	case p.git.status == http.StatusNotFound:
		return fail(fmt.Sprintf("%s does not exist (Git answers 404)", proj), "check the full path (e.g. group/subgroup/project)")
	}
	ok := fmt.Sprintf("GitLab accepts the deploy token as %s for %s", s.in.Username, proj)
	if t, found := s.lookupDeploy(ctx); found && t.Active && t.ExpiresAt != nil {
		exp := t.ExpiresAt.UTC()
		days := daysBetween(s.clock.Now().UTC(), exp)
		if exp.Sub(s.clock.Now()) < s.warnIn {
			return warn(fmt.Sprintf("%s, but it expires %s, on %s", ok, inDays(days), exp.Format(time.DateOnly)),
				fmt.Sprintf("deploy tokens cannot be renewed: before %s create a new one with the same scopes, put it and its username into %s, then delete the old one — or let tokenwarden rotate it (kind: deploy_token)", exp.Format(time.DateOnly), s.in.Origin.Label()))
		}
		ok += fmt.Sprintf("; it expires on %s (%s)", exp.Format(time.DateOnly), inDays(days))
	}
	return pass(ok)
}

// deployUnknown explains a token GitLab does not know, using the lookup
// token (Maintainer of the project, or an administrator) to tell expired
// from revoked from deleted.
func (s *session) deployUnknown(ctx context.Context) Result {
	fix := fmt.Sprintf("create a new deploy token with the scopes the consumer needs in project %s > Settings > Repository > Deploy tokens, and put it and its username into %s", s.in.Project, s.in.Origin.Label())
	why := "it expired, was revoked or was deleted, or the value is wrong"
	if s.in.Lookup.IsZero() {
		return fail("GitLab does not accept this deploy token anywhere: "+why,
			fix+" (to find out which, run doctor again with --lookup-env naming a variable that holds a token of the project's Maintainer or an administrator)")
	}
	ts, err := s.deployTokens(ctx)
	if err != nil || s.in.Username == "" {
		return fail("GitLab does not accept this deploy token anywhere: "+why, fix)
	}
	var mine []gitlab.Token
	for _, t := range ts {
		if t.Username == s.in.Username {
			mine = append(mine, t)
		}
	}
	now := s.clock.Now().UTC()
	switch {
	case len(mine) == 0:
		return fail(fmt.Sprintf("GitLab does not accept this deploy token anywhere, and no deploy token of project %s or its groups has username %q: it was deleted", s.in.Project, s.in.Username), fix)
	case slices.ContainsFunc(mine, func(t gitlab.Token) bool { return t.Active }):
		return fail(fmt.Sprintf("the deploy token %q is active, but GitLab does not accept this value as its secret: it was changed on the way, or it is an older token's of that username", s.in.Username),
			"copy the token again from where it was delivered; if it was replaced, use the new one")
	}
	t := mine[len(mine)-1]
	if t.Revoked {
		return fail(fmt.Sprintf("the deploy token %q (%s) was revoked", s.in.Username, t.Name), fix)
	}
	exp := t.ExpiresAt.UTC()
	return fail(fmt.Sprintf("the deploy token %q (%s) expired on %s (%s)", s.in.Username, t.Name, exp.Format(time.DateOnly), daysAgo(daysBetween(exp, now))), "an expired deploy token cannot be renewed: "+fix)
}

// deployTokens lists, with the lookup token, the deploy tokens of the
// project and of every group above it.
func (s *session) deployTokens(ctx context.Context) ([]gitlab.Token, error) {
	c, err := s.newClient(s.in.Lookup)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(s.in.Project, "/")
	var out []gitlab.Token
	for i := 1; i < len(parts); i++ {
		g, err := c.Group(ctx, strings.Join(parts[:i], "/"))
		if err != nil {
			return nil, err
		}
		ts, err := c.GroupDeployTokens(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	p, err := c.Project(ctx, s.in.Project)
	if err != nil {
		return nil, err
	}
	ts, err := c.ProjectDeployTokens(ctx, p)
	return append(out, ts...), err
}

// lookupDeploy finds the live token of the username with the lookup token.
func (s *session) lookupDeploy(ctx context.Context) (gitlab.Token, bool) {
	if s.in.Lookup.IsZero() {
		return gitlab.Token{}, false
	}
	ts, err := s.deployTokens(ctx)
	if err != nil {
		return gitlab.Token{}, false
	}
	var live []gitlab.Token
	for _, t := range ts {
		if t.Username == s.in.Username && t.Active {
			live = append(live, t)
		}
	}
	if len(live) != 1 { // several live tokens share the username: which one is this?
		return gitlab.Token{}, false
	}
	return live[0], true
}

// channel is one thing a deploy token can do, and the scope behind it.
type channel struct {
	what, scope string
	ok          bool
}

// checkDeployScopes says which of Git, the registry and packages the token
// can use on the project, and compares that with --need.
func checkDeployScopes(ctx context.Context, s *session) Result {
	p := s.probe(ctx)
	pull, push := registryActions(p.registry)
	chans := []channel{
		{"Git clone/fetch", "read_repository", p.git.status == http.StatusOK},
		{"registry pull", "read_registry", pull},
		{"registry push", "write_registry", push},
	}
	pkg := p.packages.status == http.StatusOK || p.packages.status == http.StatusNotFound && strings.Contains(p.packages.body, `"404 Not found"`)
	var parts, missing, missingScopes []string
	for _, c := range chans {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", c.what, yesNo(c.ok), c.scope))
	}
	parts = append(parts, fmt.Sprintf("package download %s (read_package_registry or write_package_registry; upload not checked: it would write)", yesNo(pkg)))
	detail := strings.Join(parts, "; ")
	for _, n := range s.in.Needs {
		if n.Scope == "write_repository" {
			return fail(fmt.Sprintf("%s needs write_repository, which no deploy token has: deploy tokens never push to Git", n),
				"use a project access token with write_repository (and the Developer role or higher) for pushing, or a deploy key with write access")
		}
		i := slices.IndexFunc(chans, func(c channel) bool { return c.scope == n.Scope })
		if i >= 0 && !chans[i].ok {
			missing = append(missing, n.String())
			missingScopes = append(missingScopes, n.Scope)
		}
	}
	if len(missing) > 0 {
		var want []string
		for _, c := range chans {
			if c.ok || slices.Contains(missingScopes, c.scope) {
				want = append(want, c.scope)
			}
		}
		return fail(fmt.Sprintf("the token cannot do %s: %s", joinAnd(missing), detail),
			fmt.Sprintf("GitLab cannot add scopes to a deploy token: create a new one with scopes %s in project %s > Settings > Repository > Deploy tokens, put it and its username into %s, then delete this one", strings.Join(want, ", "), s.in.Project, s.in.Origin.Label()))
	}
	if !pkg && !slices.ContainsFunc(chans, func(c channel) bool { return c.ok }) {
		return fail("the token can use none of Git, the registry and the package registry on project "+s.in.Project+": "+detail,
			"give the token's consumer a deploy token with the scopes it needs (read_repository, read_registry, write_registry, read_package_registry, write_package_registry)")
	}
	return pass(detail)
}

// registryActions reads the actions the registry's JWT grants on the
// project: its access claim (the token is decoded, not verified: doctor only
// reads what GitLab granted).
func registryActions(a answer) (pull, push bool) {
	if a.status != http.StatusOK {
		return false, false
	}
	var body struct {
		Token string `json:"token"`
	}
	if json.Unmarshal([]byte(a.body), &body) != nil {
		return false, false
	}
	parts := strings.Split(body.Token, ".")
	if len(parts) != 3 {
		return false, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false, false
	}
	var claims struct {
		Access []struct {
			Actions []string `json:"actions"`
		} `json:"access"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return false, false
	}
	for _, acc := range claims.Access {
		pull = pull || slices.Contains(acc.Actions, "pull")
		push = push || slices.Contains(acc.Actions, "push")
	}
	return pull, push
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// checkDeployAccess: a deploy token has no role; reaching the project was
// established by the valid check.
func checkDeployAccess(_ context.Context, s *session) Result {
	return pass(fmt.Sprintf("reaches project %s (a deploy token has no role: its scopes decide)", s.in.Project))
}
