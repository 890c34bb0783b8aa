package sim

import (
	"net/http"
	"slices"
	"time"
)

// Credentials outside the REST API: what Git over HTTP, the container
// registry's token service and the package registry accept
// (docs/gitlab-api.md, "Git, registry and package endpoints").

// Abilities a credential grants (Gitlab::Auth.abilities_for_scopes).
const (
	abDownloadCode   = "download_code"
	abPushCode       = "push_code"
	abReadImage      = "read_container_image"
	abCreateImage    = "create_container_image"
	abAdminImage     = "admin_container_image"
	authPersonal     = "personal_access_token"
	authDeployToken  = "deploy_token"
	msgGitDownload   = "You are not allowed to download code."
	msgGitUpload     = "You are not allowed to upload code."
	msgGitNoProject  = "The project you were looking for could not be found or you don't have permission to view it."
	msgGitNoDownload = "You are not allowed to download code from this project."
	msgGitNoPush     = "You are not allowed to push code to this project."
	msgGitCommand    = "The command you're trying to execute is not allowed."
)

// gitActor is whom an HTTP Basic username:password authenticates: an access
// token's user (any username) or a deploy token (its own username).
type gitActor struct {
	user      *user
	tok       *token
	deploy    *deployToken
	abilities []string
}

func (a *gitActor) can(ability string) bool { return slices.Contains(a.abilities, ability) }

// authType is the registry JWT's auth_type (Gitlab::Auth::Result#type).
func (a *gitActor) authType() string {
	if a.deploy != nil {
		return authDeployToken
	}
	return authPersonal
}

// abilitiesForScopes is Gitlab::Auth.abilities_for_scopes (lib/gitlab/auth.rb).
func abilitiesForScopes(scopes []string) []string {
	full := []string{"read_project", abDownloadCode, abReadImage, abPushCode, abCreateImage, abAdminImage}
	by := map[string][]string{
		"api":              full,
		"read_api":         {"read_project", abDownloadCode, abReadImage},
		"read_registry":    {abReadImage},
		"write_registry":   {abCreateImage},
		"read_repository":  {abDownloadCode},
		"write_repository": {abDownloadCode, abPushCode},
	}
	var out []string
	for _, sc := range scopes {
		for _, ab := range by[sc] {
			if !slices.Contains(out, ab) {
				out = append(out, ab)
			}
		}
	}
	return out
}

// findForGitClient is Gitlab::Auth.find_for_git_client for the credentials
// the emulator has: an active personal, project or group access token (the
// username is not looked at; a bot's token must reach p when p is given),
// then an active deploy token whose username is exactly login and that
// reaches p when p is given. It returns nil when neither matches. Emulated
// users have no passwords.
func (s *Server) findForGitClient(login, password string, p *project, now time.Time) *gitActor {
	st := s.st
	if password == "" {
		return nil
	}
	if id, ok := st.byDigest[digest(password)]; ok {
		t := st.token(id)
		u := st.users[t.UserID]
		if st.listed(t, now) && t.active(now) && (p == nil || !u.Bot || s.canSeeProject(u, p)) {
			t.touch(now)
			return &gitActor{user: u, tok: t, abilities: abilitiesForScopes(t.Scopes)}
		}
	}
	if d := st.deployBySecret(password, now); d != nil && login == d.Username && (p == nil || st.deployReaches(d, p)) {
		return &gitActor{deploy: d, abilities: abilitiesForScopes(d.Scopes)}
	}
	return nil
}

// touch records a use: GitLab writes last_used_at at most once every 10
// minutes (PersonalAccessTokens::LastUsedService).
func (t *token) touch(now time.Time) {
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= 10*time.Minute {
		t.LastUsedAt = &now
	}
}

// deployBySecret is DeployToken.active.find_by_token.
func (st *store) deployBySecret(secret string, now time.Time) *deployToken {
	if secret == "" {
		return nil
	}
	dg := digest(secret)
	for _, d := range st.deployTokens {
		if d.Digest == dg && d.active(now) {
			return d
		}
	}
	return nil
}

// deployReaches is DeployToken#has_access_to?: its own project, or any
// project below its group.
func (st *store) deployReaches(d *deployToken, p *project) bool {
	if d.ResourceType == "project" {
		return d.ResourceID == p.ID
	}
	return st.isDescendant(st.groups[p.NamespaceID], d.ResourceID)
}

// deployHas reports whether d holds any of scopes and reaches p.
func (st *store) deployHas(d *deployToken, p *project, scopes ...string) bool {
	return st.deployReaches(d, p) && slices.ContainsFunc(scopes, func(sc string) bool { return slices.Contains(d.Scopes, sc) })
}

// userLevel is u's role on p for the abilities below: admins count as Owner.
func (s *Server) userLevel(u *user, p *project) int {
	if u == nil {
		return 0
	}
	if u.Admin {
		return 50
	}
	return s.st.projectLevel(u, p)
}

// helpURL is help_page_url: the instance's /help page of a documentation file.
func helpURL(r *http.Request, file, anchor string) string {
	return baseURL(r) + "/help/" + file + "#" + anchor
}

// accessDenied is the text of GitLab's HTTP Basic refusal (Git and the
// registry's token service), followed by a help link.
const accessDenied = "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped. See "
