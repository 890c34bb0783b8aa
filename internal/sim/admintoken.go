package sim

import (
	"net/http"
	"strings"
)

// adminTokenInfo is GitLab's token information API (GitLab 17.5+):
// POST /admin/token {"token":"glpat-…"}, administrators only. It answers the
// token's details in the personal access token shape — whatever its state,
// so it tells when an expired token expired. GitLab answers 403 to
// non-administrators, 422 {"message":"Token type not supported."} to a
// secret without a known prefix, and 404 {"message":{"error":"Not found"}}
// to an unknown token.
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
	if !strings.HasPrefix(secret, "glpat-") {
		message(c.w, http.StatusUnprocessableEntity, "Token type not supported.")
		return
	}
	id, ok := s.st.byDigest[digest(secret)]
	if !ok {
		message(c.w, http.StatusNotFound, map[string]string{"error": "Not found"})
		return
	}
	writeJSON(c.w, http.StatusOK, tokenView(s.st.token(id), c.now, false, ""))
}
