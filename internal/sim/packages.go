package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The package registry, as far as deploy tokens meet it: generic packages
// (lib/api/generic_packages.rb) and the project's package list
// (lib/api/project_packages.rb). Generic package routes take a deploy token
// (Deploy-Token header, Bearer, or HTTP Basic with any username —
// AuthFinders#deploy_token_from_request does not look at the username) or an
// access token (PRIVATE-TOKEN, Bearer, or the HTTP Basic password); a
// credential they do not know leaves the caller anonymous. The package list
// takes access tokens only, like the rest of the REST API.

type genericPackage struct {
	ID               int64
	ProjectID        int64
	Name, Version    string
	CreatedAt        time.Time
	LastDownloadedAt *time.Time
	Files            map[string][]byte
}

func (s *Server) routePackages() {
	generic := "/api/v4/projects/{id}/packages/generic/{name}/{version}/{file}"
	s.handle("GET "+generic, authPackages, scopesAPI, s.downloadGeneric)
	s.handle("PUT "+generic, authPackages, scopesAPI, s.uploadGeneric)
	s.handle("GET /api/v4/projects/{id}/packages", authOptional, scopesAPI, s.listPackages)
}

// packageDeploySecret is where deploy_token_from_request looks: the
// Deploy-Token header or a Bearer token, overridden by an HTTP Basic
// password.
func packageDeploySecret(r *http.Request) string {
	if _, pw, ok := r.BasicAuth(); ok {
		return pw
	}
	if t := r.Header.Get("Deploy-Token"); t != "" {
		return t
	}
	return bearer(r)
}

// packagePATSecret is the access token of a package request: an HTTP Basic
// password GitLab knows as an access token, else PRIVATE-TOKEN or Bearer.
func packagePATSecret(r *http.Request, st *store) string {
	if _, pw, ok := r.BasicAuth(); ok {
		if _, known := st.byDigest[digest(pw)]; known {
			return pw
		}
	}
	return tokenFromRequest(r)
}

// anonymous: neither a user nor a deploy token authenticated the call.
func (c *call) anonymous() bool { return c.user == nil && c.deploy == nil }

// unauthorizedOr is the packages helpers' unauthorized_or!: 401 with the
// packages realm for anonymous callers, else the given answer.
func (c *call) unauthorizedOr(code int, msg string) {
	if c.anonymous() {
		c.w.Header().Set("WWW-Authenticate", `Basic realm="GitLab Packages Registry"`)
		c.unauthorized()
		return
	}
	message(c.w, code, msg)
}

// packageLevel: what the caller may do with p's packages — 1 read the
// project, 2 read packages, 3 create packages; 0 nothing. Deploy tokens:
// read_package_registry reads, write_package_registry creates (both read the
// project); users: Guest reads the project, Reporter packages, Developer
// creates.
func (c *call) packageLevel(p *project) int {
	if c.deploy != nil {
		switch {
		case c.s.st.deployHas(c.deploy, p, "write_package_registry"):
			return 3
		case c.s.st.deployHas(c.deploy, p, "read_package_registry"):
			return 2
		}
		return 0
	}
	switch l := c.s.userLevel(c.user, p); {
	case l >= 30:
		return 3
	case l >= 20:
		return 2
	case l >= 10:
		return 1
	}
	return 0
}

// packageProject is authorized_user_project: the project {id} if the caller
// may do at least need with its packages (see packageLevel).
func (c *call) packageProject(need int) *project {
	p := c.s.st.findProject(c.r.PathValue("id"))
	if p == nil {
		c.unauthorizedOr(http.StatusNotFound, "404 Not Found")
		return nil
	}
	switch lvl := c.packageLevel(p); {
	case lvl >= need:
		return p
	case lvl >= 1:
		message(c.w, http.StatusForbidden, "403 Forbidden")
	default:
		c.unauthorizedOr(http.StatusNotFound, "404 Not Found")
	}
	return nil
}

func (st *store) genericPackage(projectID int64, name, version string) *genericPackage {
	for _, g := range st.packages {
		if g.ProjectID == projectID && g.Name == name && g.Version == version {
			return g
		}
	}
	return nil
}

func (s *Server) downloadGeneric(c *call) {
	p := c.packageProject(2)
	if p == nil {
		return
	}
	g := s.st.genericPackage(p.ID, c.r.PathValue("name"), c.r.PathValue("version"))
	file := c.r.PathValue("file")
	var b []byte
	if g != nil {
		b = g.Files[file]
	}
	if b == nil {
		message(c.w, http.StatusNotFound, "404 Not found")
		return
	}
	now := c.now
	g.LastDownloadedAt = &now
	sum := sha256.Sum256(b)
	h := c.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+file+`"; filename*=UTF-8''`+file)
	h.Set("X-Checksum-SHA256", hex.EncodeToString(sum[:]))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
}

func (s *Server) uploadGeneric(c *call) {
	if c.anonymous() { // authenticate_non_get!
		c.unauthorizedOr(0, "")
		return
	}
	p := c.packageProject(1)
	if p == nil {
		return
	}
	if c.packageLevel(p) < 3 { // authorize_upload!
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	b, err := io.ReadAll(c.r.Body)
	if err != nil {
		message(c.w, http.StatusBadRequest, "400 Bad request - unreadable body")
		return
	}
	name, version := c.r.PathValue("name"), c.r.PathValue("version")
	g := s.st.genericPackage(p.ID, name, version)
	if g == nil {
		g = &genericPackage{ID: s.st.id("package"), ProjectID: p.ID, Name: name, Version: version, CreatedAt: c.now, Files: map[string][]byte{}}
		s.st.packages = append(s.st.packages, g)
	}
	g.Files[c.r.PathValue("file")] = b
	message(c.w, http.StatusCreated, "201 Created")
}

type packageJSON struct {
	ID               int64             `json:"id"`
	Name             string            `json:"name"`
	Version          string            `json:"version"`
	PackageType      string            `json:"package_type"`
	Status           string            `json:"status"`
	Links            map[string]string `json:"_links"`
	CreatedAt        jsonTime          `json:"created_at"`
	LastDownloadedAt *jsonTime         `json:"last_downloaded_at"`
	Tags             []string          `json:"tags"`
}

// listPackages is GET /projects/:id/packages: access tokens only (no
// deploy_token_allowed), read_package (Reporter+) else 403.
func (s *Server) listPackages(c *call) {
	p := c.project()
	if p == nil {
		return
	}
	if c.packageLevel(p) < 2 {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	gs := slices.DeleteFunc(slices.Clone(s.st.packages), func(g *genericPackage) bool { return g.ProjectID != p.ID })
	full := s.st.projectFullPath(p)
	writeViews(c, gs, func(g *genericPackage) packageJSON {
		return packageJSON{ID: g.ID, Name: g.Name, Version: g.Version, PackageType: "generic", Status: "default",
			Links:     map[string]string{"web_path": "/" + full + "/-/packages/" + strconv.FormatInt(g.ID, 10)},
			CreatedAt: jsonTime(g.CreatedAt), LastDownloadedAt: timePtr(g.LastDownloadedAt), Tags: []string{}}
	})
}
