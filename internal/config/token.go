package config

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

func (d *decoder) token(n *yaml.Node, i int, df Defaults) Token {
	where := fmt.Sprintf("tokens[%d]", i)
	if name := scalarKey(n, "name"); name != "" {
		where = fmt.Sprintf("token %q", name)
	}
	t := Token{Line: n.Line, Grace: df.Grace} // an explicit "grace: 0" overrides the default
	var access string
	var deliverNode, verifyNode *yaml.Node
	var adopt string
	// at remembers where each key is, so that problems found after
	// decoding point at the line that has them.
	at := map[string]*yaml.Node{}
	rec := func(name string, f field) field {
		return func(k, v *yaml.Node) { at[name] = k; f(k, v) }
	}
	if !d.mapping(n, where, map[string]field{
		"name":            rec("name", d.str(&t.Name, where+".name")),
		"kind":            rec("kind", d.str(&t.Kind, where+".kind")),
		"username":        rec("username", d.str(&t.Username, where+".username")),
		"description":     rec("description", d.str(&t.Description, where+".description")),
		"group":           rec("group", d.str(&t.Group, where+".group")),
		"project":         rec("project", d.str(&t.Project, where+".project")),
		"service_account": rec("service_account", d.str(&t.ServiceAccount, where+".service_account")),
		"runner":          rec("runner", d.integer(&t.Runner, where+".runner")),
		"scopes":          rec("scopes", d.strings(&t.Scopes, where+".scopes")),
		"access_level":    rec("access_level", d.str(&access, where+".access_level")),
		"lifetime":        rec("lifetime", d.dur(&t.Lifetime, where+".lifetime")),
		"rotate_before":   rec("rotate_before", d.dur(&t.RotateBefore, where+".rotate_before")),
		"grace":           d.dur(&t.Grace, where+".grace"),
		"strategy":        rec("strategy", d.strategy(&t.Strategy, where+".strategy")),
		"adopt":           rec("adopt", d.adopt(&adopt, where+".adopt")),
		"token_env":       rec("token", d.env(&t.TokenEnv, where+".token_env")),
		"token_file":      rec("token", d.path(&t.TokenFile, where+".token_file")),
		"deliver":         func(_, v *yaml.Node) { deliverNode = v },
		"verify":          func(_, v *yaml.Node) { verifyNode = v },
	}) {
		return t
	}
	t.keyLines = map[string]int{}
	for k, key := range at {
		t.keyLines[k] = key.Line
	}
	line := func(keys ...string) *yaml.Node {
		for _, k := range keys {
			if at[k] != nil {
				return at[k]
			}
		}
		return n
	}

	if t.Name == "" {
		d.errorf(n, "add name: the token's name in GitLab (it is matched by name)", "%s: name is required", where)
	} else if len(t.Name) > 255 {
		d.errorf(line("name"), "", "%s: name longer than 255 characters", where)
	}
	if len(t.Description) > 255 {
		d.errorf(line("description"), "", "%s: description longer than 255 characters", where)
	}
	switch {
	case t.IsRunnerToken():
		d.runnerToken(line, where, &t, at)
	case t.IsServiceAccountToken():
		d.serviceAccountOwner(line, where, &t)
	default:
		d.resource(line("group", "project"), where, &t.Group, &t.Project)
	}
	if at["runner"] != nil && !t.IsRunnerToken() {
		d.errorf(at["runner"], "runner: is for kind: runner_token; remove it", "%s: runner is only used by runner tokens", where)
	}
	if t.ServiceAccount != "" && !t.IsServiceAccountToken() {
		d.errorf(line("service_account"), "service_account: is for kind: service_account_token; remove it", "%s: service_account is only used by service-account tokens", where)
	}
	if !d.kind(line("kind"), where, t.Kind, t.Group != "") {
		return t // the rest is checked against the access-token rules, which do not apply
	}
	if t.Username != "" && !t.IsDeployToken() && !t.IsRunnerToken() { // runnerToken reports its own
		d.errorf(line("username"), "username: is for kind: deploy_token; remove it", "%s: username is only used by deploy tokens", where)
	}
	switch {
	case t.IsRunnerToken():
	case t.IsDeployToken():
		d.deployToken(line, where, &t, access)
	case t.IsTriggerToken():
		d.triggerToken(line, where, &t, access)
	case t.IsServiceAccountToken():
		d.noAccessLevel(line, where, access, t.Kind)
		d.kindScopes(line("scopes"), where, t.Scopes, "service-account token", ServiceAccountScopes, "read_api")
	default:
		d.scopes(line("scopes"), where, t.Scopes)
		d.accessLevel(line("access_level"), where, access, &t.AccessLevel)
	}

	_, rotateBeforeSet := at["rotate_before"] // rotate_before: 0 means "one third", overriding the defaults
	_, lifetimeSet := at["lifetime"]
	if t.Lifetime == 0 {
		t.Lifetime = df.Lifetime
	}
	if !rotateBeforeSet {
		t.RotateBefore = df.RotateBefore
	}
	_, strategySet := at["strategy"]
	if t.Strategy == "" {
		t.Strategy = df.Strategy
		switch {
		case t.OverlapOnly():
			t.Strategy = StrategyOverlap // GitLab has no rotate endpoint for deploy and trigger tokens
		case t.IsRunnerToken():
			t.Strategy = StrategyReset // a runner has one token: reset is all GitLab offers
		case t.IsServiceAccountToken() && t.Strategy == StrategySelf:
			t.Strategy = StrategyRotate // the same lineage, rotated by the managing token
		}
	}
	switch {
	case t.OverlapOnly() && t.Strategy != StrategyOverlap:
		what := kindNames[t.Kind]
		d.errorf(line("strategy"), what+"s have no rotate endpoint in GitLab: remove strategy: (overlap is the default for them)", "%s: strategy %s is not possible for a %s", where, t.Strategy, what)
	case t.IsRunnerToken() && t.Strategy != StrategyReset:
		d.errorf(line("strategy"), "a runner has exactly one authentication token, which GitLab can only reset: remove strategy: (reset is the default for runner tokens)", "%s: strategy %s is not possible for a runner token", where, t.Strategy)
	case !t.IsRunnerToken() && t.Strategy == StrategyReset:
		d.errorf(line("strategy"), "strategy reset is for kind: runner_token; use overlap, rotate or self", "%s: strategy reset is only for runner tokens", where)
	case t.IsServiceAccountToken() && t.Strategy == StrategySelf && strategySet:
		d.errorf(line("strategy"), "use strategy: rotate (GitLab's rotate endpoint, same lineage) or overlap (create, then revoke the old token after grace)", "%s: strategy self is not possible for a service-account token", where)
		t.Strategy = StrategyRotate // reported: check the rest as a rotated token
	}
	t.AdoptWait = df.AdoptWait
	if adopt != "" {
		t.AdoptWait = adopt == AdoptWait
	}
	// Only report here what the defaults section did not already report.
	if lifetimeSet || rotateBeforeSet {
		d.lifetime(line("lifetime", "rotate_before"), where, t.Lifetime, t.RotateBefore)
	}

	switch {
	case t.Strategy == StrategySelf:
		d.secretRef(line("strategy"), where+" (strategy self)", "token", t.TokenEnv, t.TokenFile, true)
		if !slices.Contains(t.Scopes, "api") && !slices.Contains(t.Scopes, "self_rotate") {
			d.errorf(line("strategy"), "add the self_rotate scope: a token can only rotate itself with api or self_rotate", "%s: strategy self needs the api or self_rotate scope", where)
		}
	case t.TokenEnv != "" || t.TokenFile != "":
		d.errorf(line("token"), "remove token_env/token_file, or set strategy: self", "%s: token_env/token_file are only used with strategy self", where)
	}

	d.sequence(deliverNode, where+".deliver", func(j int, item *yaml.Node) {
		t.Deliver = append(t.Deliver, d.sink(item, fmt.Sprintf("%s.deliver[%d]", where, j)))
	})
	if !t.IsDeployToken() {
		kind := "an access token"
		if t.Kind != "" {
			kind = "a " + t.Kind
		}
		d.noUsername(t.Deliver, where, fmt.Sprintf("token %q is %s, which has no username", t.Name, kind))
	}
	if verifyNode != nil {
		t.Verify = d.verify(verifyNode, where+".verify")
		switch {
		case t.IsDeployToken():
			d.errorf(line("kind"), "a deploy token cannot call GitLab's REST API: remove verify: (tokenwarden checks the new token is active in the deploy-token list)", "%s: verify is not possible for a deploy token", where)
		case t.IsRunnerToken():
			d.errorf(line("kind"), "a runner token cannot call GitLab's REST API: remove verify: (tokenwarden checks the new token with POST /runners/verify)", "%s: verify is not possible for a runner token", where)
		case t.IsTriggerToken():
			d.errorf(line("kind"), "a trigger token cannot call GitLab's REST API: remove verify: (tokenwarden reads the new token back from GitLab and compares it)", "%s: verify is not possible for a trigger token", where)
		}
	}
	return t
}

// scalarKey returns the scalar value of key in mapping n, or "".
func scalarKey(n *yaml.Node, key string) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			if v := resolve(n.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode {
				return strings.TrimSpace(v.Value)
			}
		}
	}
	return ""
}

// resource checks "exactly one of group/project" with a full path.
func (d *decoder) resource(n *yaml.Node, where string, group, project *string) {
	switch {
	case *group == "" && *project == "":
		d.errorf(n, "add group: full/path or project: full/path", "%s: group or project is required", where)
		return
	case *group != "" && *project != "":
		d.errorf(n, "a token belongs to one group or one project: keep one", "%s: both group and project are set", where)
		return
	}
	p := group
	kind := "group"
	if *project != "" {
		p, kind = project, "project"
	}
	trimmed := strings.Trim(*p, "/")
	if !gitlab.IsFullPath(trimmed) {
		d.errorf(n, "write the full path as in GitLab's URL, e.g. platform/infra", "%s: %s %q is not a GitLab path", where, kind, *p)
		return
	}
	*p = trimmed
}

// kind checks a token's kind: (none), group_access_token (with group:),
// project_access_token (with project:), deploy_token, trigger_token or
// service_account_token. tokenwarden inventories and revokes the other kinds
// (scan/revoke --kind) but does not rotate them: they are refused here, by
// name, rather than managed wrongly. ok is false then.
func (d *decoder) kind(n *yaml.Node, where, kind string, group bool) (ok bool) {
	switch kind {
	case "":
		return true
	case gitlab.KindGroupAccessToken:
		if !group {
			d.errorf(n, "use kind: project_access_token for a project's token, or group: instead of project:", "%s: kind group_access_token needs group:", where)
		}
		return true
	case gitlab.KindProjectAccessToken:
		if group {
			d.errorf(n, "use kind: group_access_token for a group's token, or project: instead of group:", "%s: kind project_access_token needs project:", where)
		}
		return true
	case gitlab.KindDeployToken, gitlab.KindTriggerToken, gitlab.KindServiceAccountToken, gitlab.KindRunnerToken:
		return true
	case gitlab.KindPersonalAccessToken:
		d.errorf(n, "tokenwarden rotates group and project access tokens, deploy tokens, trigger tokens, service accounts' tokens and runner tokens; `tokenwarden scan --kind "+kind+"` and `revoke --kind "+kind+"` inventory and clean up the others",
			"%s: kind %s cannot be managed (rotated) by tokenwarden yet", where, kind)
		return false
	}
	d.errorf(n, didYouMean(kind, gitlab.Kinds, "kinds: "+strings.Join(gitlab.Kinds, ", ")), "%s: unknown kind %q", where, kind)
	return false
}

// runnerToken checks what a kind: runner_token entry needs: runner: ID,
// and none of the fields of tokens that live in a group or project.
func (d *decoder) runnerToken(line func(...string) *yaml.Node, where string, t *Token, at map[string]*yaml.Node) {
	if t.Runner <= 0 {
		d.errorf(line("runner"), "add runner: ID, the runner's id (Settings > CI/CD > Runners, or `tokenwarden scan --kind runner_token`)", "%s: runner is required for kind runner_token", where)
	}
	for _, k := range []string{"group", "project", "scopes", "access_level", "description", "username"} {
		if at[k] != nil {
			d.errorf(line(k), "a runner token belongs to its runner and has no "+k+": remove it", "%s: %s is not used by runner tokens", where, k)
		}
	}
}

// DeployTokenScopes are the scopes a deploy token can have (GitLab's
// DeployToken::AVAILABLE_SCOPES).
var DeployTokenScopes = []string{"read_repository", "read_registry", "write_registry", "read_package_registry", "write_package_registry", "read_virtual_registry", "write_virtual_registry"}

var deployUsernameRE = regexp.MustCompile(`\A[a-zA-Z0-9.+_-]+\z`)

// deployToken checks what a kind: deploy_token entry needs: deploy-token
// scopes, an optional username GitLab accepts, and none of the
// access-token-only fields.
func (d *decoder) deployToken(line func(...string) *yaml.Node, where string, t *Token, access string) {
	d.noAccessLevel(line, where, access, t.Kind)
	if t.Description != "" {
		d.errorf(line("description"), "a deploy token has only a name and a username: remove description", "%s: description is not used by deploy tokens", where)
	}
	if t.Username != "" && !deployUsernameRE.MatchString(t.Username) {
		d.errorf(line("username"), "GitLab allows only letters, digits, '_', '-', '+' and '.'", "%s: invalid deploy token username %q", where, t.Username)
	}
	d.kindScopes(line("scopes"), where, t.Scopes, "deploy-token", DeployTokenScopes, "read_registry")
}

// kindNames name the kinds in messages.
var kindNames = map[string]string{gitlab.KindDeployToken: "deploy token", gitlab.KindTriggerToken: "trigger token", gitlab.KindServiceAccountToken: "service-account token"}

// noAccessLevel refuses access_level: on a kind without a role.
func (d *decoder) noAccessLevel(line func(...string) *yaml.Node, where, access, kind string) {
	if access != "" {
		d.errorf(line("access_level"), "a "+kindNames[kind]+" has no role: remove access_level", "%s: access_level is not used by %ss", where, kindNames[kind])
	}
}

// kindScopes checks scopes against the scopes that exist for one kind
// (what, e.g. "deploy-token"); example is the scope a hint suggests.
func (d *decoder) kindScopes(n *yaml.Node, where string, scopes []string, what string, valid []string, example string) {
	d.eachScope(n, where, scopes, "add scopes: ["+example+"] ("+what+" scopes: "+strings.Join(valid, ", ")+")", func(s string) {
		if !slices.Contains(valid, s) {
			d.errorf(n, didYouMean(s, valid, what+" scopes: "+strings.Join(valid, ", ")), "%s: scope %q does not exist for %ss", where, s, strings.ReplaceAll(what, "-", " "))
		}
	})
}

// eachScope reports a token's scopes list that is empty (with emptyHint)
// and each scope listed twice, and hands every other scope to check.
func (d *decoder) eachScope(n *yaml.Node, where string, scopes []string, emptyHint string, check func(scope string)) {
	if len(scopes) == 0 {
		d.errorf(n, emptyHint, "%s: scopes are required", where)
		return
	}
	seen := map[string]bool{}
	for _, s := range scopes {
		if seen[s] {
			d.errorf(n, "remove the duplicate", "%s: scope %q listed twice", where, s)
		} else {
			check(s)
		}
		seen[s] = true
	}
}

// ServiceAccountScopes are the scopes a service account's personal access
// token can have: an access token's plus read_user (sudo and admin_mode
// are for administrators' tokens only; Gitlab::Auth.available_scopes_for).
var ServiceAccountScopes = append(slices.Clone(tokenScopes), "read_user")

// triggerToken checks a kind: trigger_token entry: a project's token whose
// name is its description in GitLab; no scopes, role, username or
// description of its own.
func (d *decoder) triggerToken(line func(...string) *yaml.Node, where string, t *Token, access string) {
	if t.Group != "" {
		d.errorf(line("group"), "pipeline trigger tokens belong to a project: use project: full/path", "%s: a trigger token needs project:, not group:", where)
	}
	d.noAccessLevel(line, where, access, t.Kind)
	if len(t.Scopes) > 0 {
		d.errorf(line("scopes"), "a trigger token only starts pipelines: remove scopes", "%s: scopes are not used by trigger tokens", where)
	}
	if t.Description != "" {
		d.errorf(line("description"), "a trigger token's description in GitLab is its name: remove description (name: is matched against it)", "%s: description is not used by trigger tokens", where)
	}
}

// serviceAccountOwner checks whose token a kind: service_account_token
// entry is: service_account: (a username) of top-level group: (its Owner
// manages the tokens), or of the instance (no group:, an administrator).
func (d *decoder) serviceAccountOwner(line func(...string) *yaml.Node, where string, t *Token) {
	if t.Project != "" {
		d.errorf(line("project"), "service accounts belong to a top-level group (group: acme) or to the instance (no group:)", "%s: a service-account token has no project:", where)
	}
	if t.ServiceAccount == "" {
		d.errorf(line("kind"), "add service_account: the service account's username", "%s: service_account is required", where)
	}
	if t.Group == "" {
		return
	}
	t.Group = strings.Trim(t.Group, "/")
	switch {
	case !gitlab.IsFullPath(t.Group):
		d.errorf(line("group"), "write the group's path as in GitLab's URL, e.g. acme", "%s: group %q is not a GitLab path", where, t.Group)
	case strings.Contains(t.Group, "/"):
		d.errorf(line("group"), "GitLab provisions service accounts in top-level groups only: use "+strings.SplitN(t.Group, "/", 2)[0], "%s: group %q is not a top-level group", where, t.Group)
	}
}

func (d *decoder) scopes(n *yaml.Node, where string, scopes []string) {
	d.eachScope(n, where, scopes, "add scopes: [read_api] (the least that the token's consumers need)", func(s string) {
		switch {
		case personalOnlyScopes[s]:
			d.errorf(n, "group and project tokens cannot have it; valid scopes: "+strings.Join(tokenScopes, ", "), "%s: scope %q exists only on personal access tokens", where, s)
		case !ValidScope(s):
			d.errorf(n, didYouMean(s, tokenScopes, "valid scopes: "+strings.Join(tokenScopes, ", ")), "%s: unknown scope %q", where, s)
		}
	})
}

func (d *decoder) accessLevel(n *yaml.Node, where, s string, dst *int) {
	if s == "" {
		*dst = DefaultAccessLevel
		return
	}
	level, ok := AccessLevel(strings.ToLower(s))
	if !ok {
		names := make([]string, len(accessLevels))
		for i, a := range accessLevels {
			names[i] = fmt.Sprintf("%s (%d)", a.name, a.level)
		}
		d.errorf(n, "GitLab's access levels: "+strings.Join(names, ", "), "%s: invalid access_level %q", where, s)
		return
	}
	*dst = level
}

func (d *decoder) verify(n *yaml.Node, where string) *Verify {
	v := &Verify{}
	if !d.mapping(n, where, map[string]field{
		"method": d.str(&v.Method, where+".method"),
		"path":   d.str(&v.Path, where+".path"),
	}) {
		return v
	}
	v.Method = strings.ToUpper(v.Method)
	switch v.Method {
	case "":
		v.Method = http.MethodGet
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		d.errorf(n, "use GET (the default) or HEAD", "%s: unknown method %q", where, v.Method)
	}
	switch {
	case v.Path == "":
		d.errorf(n, "add path: /projects/group%2Fproject (relative to /api/v4)", "%s: path is required", where)
	case strings.Contains(v.Path, "://"):
		d.errorf(n, "write the path relative to the API, e.g. /user", "%s: path must not be a URL", where)
	case strings.HasPrefix(v.Path, "/api/v4/"):
		d.errorf(n, "write it relative to /api/v4: "+strings.TrimPrefix(v.Path, "/api/v4"), "%s: path includes /api/v4", where)
	case !strings.HasPrefix(v.Path, "/"):
		v.Path = "/" + v.Path
	}
	return v
}
