package sim

import (
	"net/http"
	"strings"
)

// adminTokenPrefixes are the token kinds GitLab's token information API
// identifies (Authn::AgnosticTokenIdentifier::TOKEN_TYPES; the kinds its
// request spec spec/requests/api/admin/token_spec.rb answers 200 for):
// personal/group/project access, deploy, feed, incoming e-mail, OAuth
// application secret, agent, runner authentication, pipeline trigger,
// feature flags client and CI/CD job tokens, and _gitlab_session cookies.
// The emulator holds access, deploy, pipeline trigger and runner tokens; a
// secret of another supported kind is one it does not know (404), like a
// GitLab that has none of that kind.
var adminTokenPrefixes = []string{"glpat-", "gldt-", "glft-", "glimt-", "gloas-", "glagent-", "glrt-", "glptt-", "glffct-", "glcbt-", "_gitlab_session="}

// adminTokenInfo is GitLab's token information API (GitLab 17.5+,
// lib/api/admin/token.rb): POST /admin/token {"token":"glpat-…"},
// administrators only. It answers 200 with the token's details in the
// personal access token shape whatever its state (so it tells when an
// expired token expired and that a revoked one was revoked); 403
// {"message":"403 Forbidden"} to a non-administrator
// (authenticated_as_admin!); 400 without a token; 422 {"message":"Token type
// not supported."} when no supported kind's prefix matches; 404
// {"message":{"error":"Not found"}} for a supported kind GitLab does not know.
func (s *Server) adminTokenInfo(c *call) {
	if !c.admin() {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	secret, ok := c.p.get("token")
	if !ok {
		paramError(c.w, "token is missing")
		return
	}
	supported := false
	for _, p := range adminTokenPrefixes {
		if strings.HasPrefix(secret, p) {
			supported = true
			break
		}
	}
	if !supported {
		message(c.w, http.StatusUnprocessableEntity, "Token type not supported.")
		return
	}
	dg := digest(secret)
	if id, ok := s.st.byDigest[dg]; ok {
		writeJSON(c.w, http.StatusOK, tokenView(s.st.token(id), c.now, false, ""))
		return
	}
	// Other kinds, each in its own entity (API::Entities::DeployToken,
	// Trigger, Ci::Runner), as Authn::Tokens::<Kind>#present_with says.
	switch {
	case strings.HasPrefix(secret, "gldt-"):
		for _, d := range s.st.deployTokens {
			if d.Digest == dg {
				writeJSON(c.w, http.StatusOK, deployTokenView(d, c.now, ""))
				return
			}
		}
	case strings.HasPrefix(secret, triggerPrefix):
		for _, t := range s.st.triggers {
			if t.Secret == secret {
				writeJSON(c.w, http.StatusOK, s.triggerView(c, t))
				return
			}
		}
	case strings.HasPrefix(secret, "glrt-"):
		for _, r := range s.st.runners {
			if r.Digest == dg {
				writeJSON(c.w, http.StatusOK, runnerView(r, c.now))
				return
			}
		}
	}
	message(c.w, http.StatusNotFound, map[string]string{"error": "Not found"})
}
