package doctor

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// Access levels, as GitLab numbers them.
const (
	levelGuest      = 10
	levelPlanner    = 15
	levelReporter   = 20
	levelDeveloper  = 30
	levelMaintainer = 40
	levelOwner      = 50
)

func levelName(l int) string {
	names := map[int]string{levelGuest: "Guest", levelPlanner: "Planner", levelReporter: "Reporter", levelDeveloper: "Developer", levelMaintainer: "Maintainer", levelOwner: "Owner"}
	if n, ok := names[l]; ok {
		return fmt.Sprintf("%s (%d)", n, l)
	}
	return fmt.Sprintf("access level %d", l)
}

// requiredLevel is the lowest role with which the token's user can do what
// a scope is needed for, and the need that sets it.
func requiredLevel(needs []Need) (int, string) {
	level, why := levelGuest, ""
	for _, n := range needs {
		l := levelGuest
		switch n.Scope {
		case "read_repository", "read_registry", "read_virtual_registry":
			l = levelReporter
		case "write_repository", "write_registry", "write_virtual_registry":
			l = levelDeveloper
		case "create_runner", "manage_runner":
			l = levelMaintainer
		}
		if l > level || why == "" {
			level, why = max(l, level), n.String()
		}
	}
	return level, why
}

// resource is the project or group the token must reach.
type resource struct {
	kind, path string // "project" | "group"
}

// checkAccess fetches --project / --group with the token and compares the
// role of the token's user there with what --need requires.
func checkAccess(ctx context.Context, s *session) Result {
	var res []resource
	if s.in.Project != "" {
		res = append(res, resource{"project", s.in.Project})
	}
	if s.in.Group != "" {
		res = append(res, resource{"group", s.in.Group})
	}
	if len(res) == 0 {
		return pass("no --project or --group given, nothing to reach")
	}
	var details []string
	var warning *Result
	for _, r := range res {
		out := s.reach(ctx, r)
		switch out.Status {
		case StatusFailed:
			return out
		case StatusWarning:
			if warning == nil {
				warning = &out
			}
		}
		details = append(details, out.Detail)
	}
	if warning != nil {
		return warn(strings.Join(details, "; "), warning.Fix)
	}
	return pass(strings.Join(details, "; "))
}

func (s *session) reach(ctx context.Context, r resource) Result {
	required, why := requiredLevel(s.in.Needs)
	var (
		id       int64
		public   bool
		level    int
		hasLevel bool
		err      error
	)
	if r.kind == "project" {
		var p gitlab.Project
		if p, err = s.api.Project(ctx, r.path); err == nil {
			id, public = p.ID, notPrivate(p.Visibility)
			level, hasLevel = p.Access, p.Access > 0
		}
	} else {
		var g gitlab.Group
		if g, err = s.api.Group(ctx, r.path); err == nil {
			id, public = g.ID, notPrivate(g.Visibility)
		}
	}
	if err != nil {
		return s.unreachable(r, classify(err))
	}
	username := ""
	if !hasLevel {
		var m memberLevel
		m, err = s.membership(ctx, r.kind, id)
		if err != nil {
			a := classify(err)
			if a.status != http.StatusNotFound {
				return warn(fmt.Sprintf("%s %s is reachable, but its members cannot be read to check the role (%s)", r.kind, r.path, a),
					fmt.Sprintf("check in %s %s > Manage > Members that the token's user has at least %s", r.kind, r.path, levelName(required)))
			}
			if admin, _ := s.isAdmin(ctx); admin {
				return pass(fmt.Sprintf("reaches %s %s as an administrator", r.kind, r.path))
			}
			if public && required <= levelReporter && !needsWrite(s.in.Needs) {
				return pass(fmt.Sprintf("reaches %s %s (not a member; it is not private, reading needs no membership)", r.kind, r.path))
			}
			return fail(fmt.Sprintf("the token's user is not a member of %s %s", r.kind, r.path), s.roleFix(ctx, r, required, ""))
		}
		level, username = m.level, m.username
	}
	if level < required {
		return fail(fmt.Sprintf("the token's user has %s on %s %s, but %s needs %s or higher", levelName(level), r.kind, r.path, why, levelName(required)),
			s.roleFix(ctx, r, required, username))
	}
	if why == "" || required <= levelGuest {
		return pass(fmt.Sprintf("reaches %s %s as %s", r.kind, r.path, levelName(level)))
	}
	return pass(fmt.Sprintf("reaches %s %s as %s; %s needs %s", r.kind, r.path, levelName(level), why, levelName(required)))
}

// notPrivate: anyone signed in can read an internal or public resource.
func notPrivate(visibility string) bool {
	return visibility == "public" || visibility == "internal"
}

func needsWrite(needs []Need) bool {
	for _, n := range needs {
		if strings.HasPrefix(n.Scope, "write_") || n.Scope == "api" {
			return true
		}
	}
	return false
}

// unreachable explains why the token cannot fetch the resource.
func (s *session) unreachable(r resource, a apiError) Result {
	switch {
	case a.status == http.StatusNotFound:
		return fail(fmt.Sprintf("%s %s does not exist, or the token's user cannot see it (404)", r.kind, r.path),
			fmt.Sprintf("check the full path (e.g. group/subgroup/project) and that the token was created in %s %s or its user is a member of it", r.kind, r.path))
	case a.insufficientScope():
		return warn(fmt.Sprintf("cannot check access to %s %s: the token's scopes do not include the API (GitLab accepts %s)", r.kind, r.path, strings.ReplaceAll(a.scope, " ", " or ")),
			fmt.Sprintf("check in %s %s > Manage > Members (or > Settings > Access tokens) that the token's user has the role the consumer needs", r.kind, r.path))
	case a.transport != nil:
		return fail(fmt.Sprintf("%s did not answer when fetching %s %s: %s", s.baseURL, r.kind, r.path, plainError(a.transport)), "check the network path to the instance, then run doctor again")
	}
	return fail(fmt.Sprintf("fetching %s %s failed: %s", r.kind, r.path, a), "run doctor again; if it persists, ask the instance's admins")
}

// roleFix: a human user's role can be raised; an access token's bot user
// keeps the access level the token was created with.
func (s *session) roleFix(ctx context.Context, r resource, required int, username string) string {
	if strings.Contains(username, "_bot_") || username == "" && s.isBotToken(ctx) {
		return fmt.Sprintf("the role of a %s's access token cannot be changed: create a new token with access level %s or higher in %s %s > Settings > Access tokens, and put it into %s",
			r.kind, levelName(required), r.kind, r.path, s.in.Origin.Label())
	}
	who := "the token's user"
	if username == "" {
		username = s.username(ctx)
	}
	if username != "" {
		who = username
	}
	return fmt.Sprintf("ask an Owner of %s %s to give %s the %s role or higher (Manage > Members), or use a token of a user who has it", r.kind, r.path, who, levelName(required))
}
