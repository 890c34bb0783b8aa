package sim

import (
	"fmt"
	"net/http"
	"strings"
)

// Git over HTTP: the ref advertisement GET /<full_path>.git/info/refs?
// service=git-upload-pack|git-receive-pack, as GitLab's
// Repositories::GitHttpController (authenticate_user in
// git_http_client_controller.rb, then Gitlab::GitAccess#check) and Workhorse
// answer it. Every emulated repository is private and empty: a successful
// answer advertises no refs.

const gitInfoRefs = ".git/info/refs"

func isGitInfoRefs(path string) bool { return strings.HasSuffix(path, gitInfoRefs) }

func (s *Server) gitInfoRefs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodHead { // deny_head_requests
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	now := s.clock.Now()
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), gitInfoRefs)
	p := s.st.projectPaths[strings.ToLower(path)]
	login, password, basic := r.BasicAuth()
	var a *gitActor
	if basic {
		a = s.findForGitClient(login, password, p, now)
	}
	if a == nil {
		// No credentials, or none GitLab accepts; anonymous download is
		// never allowed (every project is private).
		w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
		gitText(w, http.StatusUnauthorized, accessDenied+helpURL(r, "topics/git/troubleshooting_git.md", "error-on-git-fetch-http-basic-access-denied"))
		return
	}
	svc := r.URL.Query().Get("service")
	code, msg := s.gitAccess(a, p, svc)
	if code != http.StatusOK {
		gitText(w, code, msg)
		return
	}
	w.Header().Set("Content-Type", "application/x-"+svc+"-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(emptyAdvertisement(svc)))
}

// gitAccess is Gitlab::GitAccess#check for an authenticated actor, in its
// order: abilities, command, project, then download or push access.
func (s *Server) gitAccess(a *gitActor, p *project, svc string) (int, string) {
	download := svc == "git-upload-pack" || svc == "git-upload-archive"
	push := svc == "git-receive-pack"
	switch {
	case download && !a.can(abDownloadCode):
		return http.StatusForbidden, msgGitDownload
	case push && !a.can(abPushCode):
		return http.StatusForbidden, msgGitUpload
	case !download && !push:
		return http.StatusForbidden, msgGitCommand
	case p == nil:
		return http.StatusNotFound, msgGitNoProject
	}
	if a.deploy != nil {
		// A deploy token that authenticated for p reaches it, and only
		// read_repository gives it download_code; it never has push_code.
		return http.StatusOK, ""
	}
	level := s.userLevel(a.user, p)
	switch {
	case level == 0:
		return http.StatusNotFound, msgGitNoProject
	case download && level < 20:
		return http.StatusForbidden, msgGitNoDownload
	case push && level < 30:
		return http.StatusForbidden, msgGitNoPush
	}
	return http.StatusOK, ""
}

func gitText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text))
}

// emptyAdvertisement is what git-http-backend answers for an empty
// repository (protocol v0): the service line, a flush, the capabilities on
// the null object id, a flush.
func emptyAdvertisement(svc string) string {
	caps := "report-status delete-refs side-band-64k quiet atomic ofs-delta object-format=sha1 agent=git/gitlab-sim"
	if svc != "git-receive-pack" {
		caps = "multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress include-tag object-format=sha1 agent=git/gitlab-sim"
	}
	return pktLine("# service="+svc+"\n") + "0000" + pktLine(strings.Repeat("0", 40)+" capabilities^{}\x00"+caps+"\n") + "0000"
}

func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }
