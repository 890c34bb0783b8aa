// Package sim owns the GitLab emulator: an in-process (and, through
// `tokenwarden sim`, standalone) implementation of the subset of GitLab's REST
// API v4 described in docs/gitlab-api.md — groups, projects, users, memberships,
// group/project and personal access tokens, the admin token information API,
// CI/CD variables, pagination, rate limits; outside the REST API, Git's ref
// advertisement, the registry's token service and generic packages, where
// deploy tokens work — plus the
// controls tests need: a settable clock, fixtures, a seeded instance generator
// and fault injection. It is the GitLab of every test in tokenwarden, so it
// follows GitLab's behaviour, not what a client might expect.
package sim

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// Options configure a Server.
type Options struct {
	Clock            clock.Clock   // nil → clock.Real{}; tests pass *clock.Fake
	RootToken        string        // secret of root's (id 1, admin) personal access token with api scope; "" → random
	Seed             int64         // seeds the generator and secrets; 0 → random secrets
	Groups           int           // seeded instance sizes; all 0 → empty instance (only root)
	ProjectsPerGroup int           //
	TokensPerProject int           //
	Variables        bool          // seeded instance: CI/CD variables holding its tokens (see generateVariables)
	Latency          time.Duration // added to every API request
	RateLimit        int           // authenticated requests per minute per user; 0 = off
	RequireExpiry    *bool         // nil → true (GitLab's require_personal_access_token_expiry)
	Host             string        // for bot emails; "" → "gitlab.example.com"
	// Seeded credentials beyond access tokens (need Groups > 0).
	DeployTokensPerProject  int
	TriggerTokensPerProject int
	RunnersPerGroup         int
	// RunnerTokenExpiration is GitLab's runner_token_expiration_interval:
	// a reset runner token expires this long after; 0 → never.
	RunnerTokenExpiration time.Duration
	// SaaS serves what only GitLab.com has: the top-level group credentials
	// inventory (GET /groups/:id/manage/resource_access_tokens).
	SaaS bool
}

// Server is the emulated GitLab. It serves /api/v4/... and the emulator's own
// admin endpoints under /-/sim/....
type Server struct {
	mu                  sync.Mutex // guards st and requireExpiry
	st                  *store
	clock               clock.Clock
	rootToken           string
	requireExpiry       bool
	host                string
	runnerTokenInterval time.Duration
	saas                bool
	latency             time.Duration
	faults              *Faults
	limiter             *rateLimiter
	mux                 *http.ServeMux
	registry            registrySigner // signs the registry's JWTs (registryauth.go)

	requests  atomic.Int64
	throttled atomic.Int64
	// adminRequests counts administrators' requests let through the rate
	// limit: the managing token's share of a run.
	adminRequests atomic.Int64
}

// New builds a Server with root (id 1, admin) and, if sizes are given, a
// seeded instance.
func New(opts Options) (*Server, error) {
	s := &Server{
		clock:               opts.Clock,
		st:                  newStore(opts.Seed),
		requireExpiry:       opts.RequireExpiry == nil || *opts.RequireExpiry,
		host:                opts.Host,
		latency:             opts.Latency,
		runnerTokenInterval: opts.RunnerTokenExpiration,
		saas:                opts.SaaS,
		mux:                 http.NewServeMux(),
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.host == "" {
		s.host = "gitlab.example.com"
	}
	s.faults = newFaults(opts.Seed)
	s.limiter = newRateLimiter(opts.RateLimit)
	s.routes()

	root, err := s.CreateUser("root", true)
	if err != nil {
		return nil, err
	}
	s.rootToken = opts.RootToken
	if s.rootToken == "" {
		s.rootToken = s.randomSecret()
	}
	if _, _, err := s.CreatePersonalToken(root.ID, TokenSpec{Name: "root", Scopes: []string{"api", "read_user", "sudo", "admin_mode"}, Secret: s.rootToken}); err != nil {
		return nil, err
	}
	if opts.Groups > 0 {
		minted, err := s.generate(opts.Groups, opts.ProjectsPerGroup, opts.TokensPerProject)
		if err != nil {
			return nil, err
		}
		s.generateCredentials(opts.DeployTokensPerProject, opts.TriggerTokensPerProject, opts.RunnersPerGroup)
		if opts.Variables {
			s.generateVariables(minted)
		}
	}
	return s, nil
}

// Clock is the server's clock.
func (s *Server) Clock() clock.Clock { return s.clock }

// RootToken is the secret of root's api token (useful when Options.RootToken was empty).
func (s *Server) RootToken() string { return s.rootToken }

// Faults is the fault injector.
func (s *Server) Faults() *Faults { return s.faults }

// SetRequireExpiry switches GitLab's require_personal_access_token_expiry setting.
func (s *Server) SetRequireExpiry(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireExpiry = v
}

func (s *Server) randomSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.newSecret()
}

// ServeHTTP applies latency and faults, then routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/-/sim/") {
		s.serveAdmin(w, r)
		return
	}
	s.requests.Add(1)
	f := s.faults.decide(r)
	if d := s.latency + f.latency; d > 0 {
		time.Sleep(d)
	}
	switch {
	case f.reset:
		resetConnection(w)
		return
	case f.throttle:
		s.throttled.Add(1)
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Retry later\n"))
		return
	case f.fail:
		message(w, http.StatusInternalServerError, "500 Internal Server Error")
		return
	case f.drop:
		// Perform the request in full, then lose the response.
		s.mux.ServeHTTP(&discardWriter{h: http.Header{}}, r)
		resetConnection(w)
		return
	case f.hang:
		// Perform the request in full, then answer nothing until the
		// client gives up.
		s.mux.ServeHTTP(&discardWriter{h: http.Header{}}, r)
		<-r.Context().Done()
		resetConnection(w)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// resetConnection closes the client's connection without a response.
func resetConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// Scope sets accepted by endpoints.
var (
	scopesAPI        = []string{"api", "read_api"}
	scopesUser       = []string{"read_user", "api", "read_api"}
	scopesSelfRotate = []string{"api", "self_rotate"}
	scopesAny        = []string{"api", "read_api", "read_user", "create_runner", "manage_runner", "k8s_proxy", "self_rotate", "read_repository", "write_repository", "read_registry", "write_registry", "read_virtual_registry", "write_virtual_registry", "read_observability", "write_observability", "ai_features", "sudo", "admin_mode"}
)

type access int

const (
	authRequired access = iota
	authOptional
	// authPackages is the package registry's authentication
	// (deploy_token_allowed, basic_auth_personal_access_token): a deploy
	// token first, then an access token; none is anonymous.
	authPackages
)

func (s *Server) routes() {
	h := func(pattern string, scopes []string, fn func(*call)) {
		s.handle(pattern, authRequired, scopes, fn)
	}
	s.handle("GET /api/v4/groups", authOptional, scopesAPI, s.listGroups)
	h("POST /api/v4/groups", scopesAPI, s.createGroup)
	h("GET /api/v4/groups/{id}", scopesAPI, s.getGroup)
	h("GET /api/v4/groups/{id}/subgroups", scopesAPI, s.listSubgroups(false))
	h("GET /api/v4/groups/{id}/descendant_groups", scopesAPI, s.listSubgroups(true))
	h("GET /api/v4/groups/{id}/projects", scopesAPI, s.listGroupProjects)
	s.handle("GET /api/v4/projects", authOptional, scopesAPI, s.listProjects)
	h("POST /api/v4/projects", scopesAPI, s.createProject)
	h("GET /api/v4/projects/{id}", scopesAPI, s.getProject)

	// Every group and project has these endpoints, under
	// /api/v4/groups/{id} and /api/v4/projects/{id}; each handler is made
	// for its kind.
	perResource := []struct {
		method, path string
		scopes       []string
		handler      func(kind string) func(*call)
	}{
		{"GET", "/access_tokens", scopesAPI, s.listResourceTokens},
		{"POST", "/access_tokens", scopesAPI, s.createResourceToken},
		{"GET", "/access_tokens/{tid}", scopesAPI, s.getResourceToken},
		{"DELETE", "/access_tokens/{tid}", scopesAPI, s.revokeResourceToken},
		{"POST", "/access_tokens/{tid}/rotate", scopesAPI, s.rotateResourceToken},
		{"POST", "/access_tokens/self/rotate", scopesSelfRotate, s.selfRotateResourceToken},
		{"GET", "/variables", scopesAPI, s.listVariables},
		{"POST", "/variables", scopesAPI, s.createVariable},
		{"GET", "/variables/{key}", scopesAPI, s.getVariable},
		{"PUT", "/variables/{key}", scopesAPI, s.updateVariable},
		{"DELETE", "/variables/{key}", scopesAPI, s.deleteVariable},
		{"GET", "/deploy_tokens", scopesAPI, s.listDeployTokens},
		{"POST", "/deploy_tokens", scopesAPI, s.createDeployToken},
		{"GET", "/deploy_tokens/{tid}", scopesAPI, s.getDeployToken},
		{"DELETE", "/deploy_tokens/{tid}", scopesAPI, s.deleteDeployToken},
	}
	for _, kind := range []string{"group", "project"} {
		res := "/api/v4/" + kind + "s/{id}"
		for _, e := range perResource {
			h(e.method+" "+res+e.path, e.scopes, e.handler(kind))
		}
		h("GET "+res+"/members/{uid}", scopesAPI, s.getMember(kind, false))
		h("GET "+res+"/members/all/{uid}", scopesAPI, s.getMember(kind, true))
	}
	h("POST /api/v4/admin/token", scopesAPI, s.adminTokenInfo)

	h("GET /api/v4/deploy_tokens", scopesAPI, s.listAllDeployTokens)
	h("GET /api/v4/projects/{id}/triggers", scopesAPI, s.listTriggers)
	h("POST /api/v4/projects/{id}/triggers", scopesAPI, s.createTrigger)
	h("GET /api/v4/projects/{id}/triggers/{tid}", scopesAPI, s.getTrigger)
	h("PUT /api/v4/projects/{id}/triggers/{tid}", scopesAPI, s.updateTrigger)
	h("DELETE /api/v4/projects/{id}/triggers/{tid}", scopesAPI, s.deleteTrigger)
	h("GET /api/v4/runners/all", scopesAPI, s.listAllRunners)
	h("GET /api/v4/runners/{rid}", scopesAPI, onFound(s.runnerByPath, s.getRunner))
	h("POST /api/v4/runners/{rid}/reset_authentication_token", scopesAPI, onFound(s.runnerByPath, s.resetRunnerToken))
	s.handle("POST /api/v4/runners/verify", authOptional, scopesAny, s.verifyRunner)
	h("GET /api/v4/groups/{id}/runners", scopesAPI, onResource("group", (*call).maintainedResource, s.listGroupRunners))

	h("GET /api/v4/groups/{id}/manage/resource_access_tokens", scopesAPI, s.manageResourceTokens)
	h("GET /api/v4/service_accounts", scopesAPI, s.listServiceAccounts)
	h("POST /api/v4/service_accounts", scopesAPI, s.createServiceAccount)
	h("POST /api/v4/users/{uid}/personal_access_tokens", scopesAPI, s.createUserPAT)
	sa := "/api/v4/groups/{id}/service_accounts"
	h("GET "+sa, scopesAPI, onFound((*call).saGroup, s.listGroupServiceAccounts))
	h("POST "+sa, scopesAPI, onFound((*call).saGroup, s.createGroupServiceAccount))
	h("GET "+sa+"/{uid}/personal_access_tokens", scopesAPI, onFound((*call).groupSA, s.listGroupSATokens))
	h("POST "+sa+"/{uid}/personal_access_tokens", scopesAPI, onFound((*call).groupSA, s.createPATFor))
	h("POST "+sa+"/{uid}/personal_access_tokens/{tid}/rotate", scopesAPI, onFound((*call).groupSAToken, s.rotateGroupSAToken))
	h("DELETE "+sa+"/{uid}/personal_access_tokens/{tid}", scopesAPI, onFound((*call).groupSAToken, s.revokeGroupSAToken))
	h("GET /api/v4/projects/{id}/runners", scopesAPI, onResource("project", (*call).maintainedResource, s.listProjectRunners))

	h("GET /api/v4/personal_access_tokens", scopesAPI, s.listPATs)
	h("GET /api/v4/personal_access_tokens/self", scopesAny, s.getSelfPAT)
	h("GET /api/v4/personal_access_tokens/self/associations", scopesAPI, s.selfAssociations)
	h("POST /api/v4/personal_access_tokens/self/rotate", scopesSelfRotate, s.rotateSelfPAT)
	h("DELETE /api/v4/personal_access_tokens/self", scopesAny, s.revokeSelfPAT)
	h("GET /api/v4/personal_access_tokens/{tid}", scopesAPI, s.getPAT)
	h("DELETE /api/v4/personal_access_tokens/{tid}", scopesAPI, s.revokePAT)
	h("POST /api/v4/personal_access_tokens/{tid}/rotate", scopesSelfRotate, s.rotatePAT)

	h("GET /api/v4/user", scopesUser, s.getCurrentUser)
	h("GET /api/v4/users", scopesUser, s.listUsers)
	h("GET /api/v4/users/{uid}", scopesUser, s.getUser)
	h("GET /api/v4/version", scopesUser, s.getVersion)
	h("GET /api/v4/metadata", scopesUser, s.getVersion)

	s.mux.HandleFunc("GET /jwt/auth", s.registryAuth)
	s.routePackages()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if isGitInfoRefs(r.URL.Path) {
			s.gitInfoRefs(w, r)
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	})
}

// errNotFake is returned when a fake clock is needed but the server runs on another.
var errNotFake = errors.New("sim: the server's clock cannot be set (want *clock.Fake or *sim.LiveClock)")
