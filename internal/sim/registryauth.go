package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The container registry's token service: GET /jwt/auth?service=
// container_registry&scope=repository:<path>:pull,push (JwtController and
// Auth::ContainerRegistryAuthenticationService). GitLab signs the JWT with
// the registry's RSA key (RS256); the emulator signs with a key of its own,
// made on first use, whose public half RegistryKey returns.

const (
	registryService = "container_registry"
	registryIssuer  = "gitlab-issuer" // gitlab.yml's registry.issuer default
	// registryTokenTTL is container_registry_token_expire_delay (5 minutes).
	registryTokenTTL = 5 * time.Minute
)

type registrySigner struct {
	once sync.Once
	key  *rsa.PrivateKey
	kid  string
	err  error
}

func (rs *registrySigner) get() (*rsa.PrivateKey, string, error) {
	rs.once.Do(func() {
		rs.key, rs.err = rsa.GenerateKey(rand.Reader, 2048)
		if rs.err != nil {
			return
		}
		der, err := x509.MarshalPKIXPublicKey(&rs.key.PublicKey)
		if err != nil {
			rs.err = err
			return
		}
		rs.kid = libtrustKeyID(der)
	})
	return rs.key, rs.kid, rs.err
}

// libtrustKeyID is the key id GitLab's JSONWebToken::RSAToken puts in kid
// (docker/libtrust): base32 of the first 240 bits of the SHA-256 of the
// public key's DER, in groups of four separated by colons.
func libtrustKeyID(der []byte) string {
	sum := sha256.Sum256(der)
	s := strings.TrimRight(base32.StdEncoding.EncodeToString(sum[:30]), "=")
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, ":")
}

// RegistryKey is the public key the emulator's registry JWTs are signed with.
func (s *Server) RegistryKey() (*rsa.PublicKey, error) {
	k, _, err := s.registry.get()
	if err != nil {
		return nil, err
	}
	return &k.PublicKey, nil
}

// sign makes an RS256 JWT of claims.
func (s *Server) sign(claims map[string]any) (string, error) {
	k, kid, err := s.registry.get()
	if err != nil {
		return "", err
	}
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": kid})
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	in := enc.EncodeToString(h) + "." + enc.EncodeToString(b)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return in + "." + enc.EncodeToString(sig), nil
}

type registryError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func registryErrors(w http.ResponseWriter, code int, e registryError) {
	writeJSON(w, code, map[string][]registryError{"errors": {e}})
}

// registryAccess is one entry of the JWT's access claim.
type registryAccess struct {
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Actions []string       `json:"actions"`
	Meta    map[string]any `json:"meta,omitempty"`
}

func (s *Server) registryAuth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	if q.Get("service") != registryService {
		w.WriteHeader(http.StatusNotFound) // head :not_found
		return
	}
	now := s.clock.Now()
	// Without credentials: read-only abilities for anonymous access
	// (Gitlab::Auth.read_only_authentication_abilities).
	a := &gitActor{abilities: []string{"read_project", abDownloadCode, abReadImage}}
	if login, password, ok := r.BasicAuth(); ok {
		if a = s.findForGitClient(login, password, nil, now); a == nil {
			registryErrors(w, http.StatusUnauthorized, registryError{"UNAUTHORIZED", accessDenied +
				helpURL(r, "user/profile/account/two_factor_authentication_troubleshooting.md", "error-http-basic-access-denied-if-a-password-was-provided-for-git-authentication-")})
			return
		}
	}
	if !a.can(abReadImage) && !a.can(abCreateImage) && !a.can(abAdminImage) {
		registryErrors(w, http.StatusForbidden, registryError{"DENIED", "access forbidden"})
		return
	}
	var access []registryAccess
	for _, raw := range q["scope"] {
		for _, sc := range strings.Fields(raw) {
			if acc, ok := s.registryScope(a, sc); ok {
				access = append(access, acc)
			}
		}
	}
	if len(access) == 0 && a.user == nil && a.deploy == nil {
		registryErrors(w, http.StatusForbidden, registryError{"DENIED", "access forbidden"})
		return
	}
	info := map[string]any{"token_type": a.authType()}
	claims := map[string]any{"jti": s.jti(), "aud": registryService, "iss": registryIssuer,
		"iat": now.Unix(), "nbf": now.Add(-5 * time.Second).Unix(), "exp": now.Add(registryTokenTTL).Unix(),
		"auth_type": a.authType(), "access": orEmpty(access)}
	switch {
	case a.user != nil:
		claims["sub"] = a.user.Username
		info["username"], info["user_id"] = a.user.Username, a.user.ID
	case a.deploy != nil:
		info["username"], info["deploy_token_id"] = a.deploy.Username, a.deploy.ID
	default:
		delete(claims, "auth_type")
		info = nil
	}
	user, err := s.sign(map[string]any{"user_info": info})
	if err == nil {
		claims["user"] = user
		var tok string
		if tok, err = s.sign(claims); err == nil {
			writeJSON(w, http.StatusOK, map[string]string{"token": tok})
			return
		}
	}
	message(w, http.StatusInternalServerError, "500 Internal Server Error")
}

func orEmpty(a []registryAccess) []registryAccess {
	if a == nil {
		return []registryAccess{}
	}
	return a
}

func (s *Server) jti() string {
	return s.st.hex32()
}

// registryScope is process_scope: repository:<path>:<actions> keeps the
// actions the actor may do on the project the path belongs to; registry:
// catalog:* is for administrators.
func (s *Server) registryScope(a *gitActor, scope string) (registryAccess, bool) {
	parts := strings.SplitN(scope, ":", 3)
	if len(parts) != 3 {
		return registryAccess{}, false
	}
	typ, name, actions := parts[0], parts[1], strings.Split(parts[2], ",")
	switch typ {
	case "registry":
		if a.user != nil && a.user.Admin && name == "catalog" && parts[2] == "*" {
			return registryAccess{Type: typ, Name: name, Actions: []string{"*"}}, true
		}
		return registryAccess{}, false
	case "repository":
	default:
		return registryAccess{}, false
	}
	p := s.registryProject(name)
	if p == nil {
		return registryAccess{}, false
	}
	var ok []string
	for _, act := range actions {
		if s.registryCan(a, p, act) {
			ok = append(ok, act)
		}
	}
	if len(ok) == 0 {
		return registryAccess{}, false
	}
	root := s.st.ancestors(s.st.groups[p.NamespaceID])
	return registryAccess{Type: typ, Name: name, Actions: ok, Meta: map[string]any{
		"project_path": strings.ToLower(s.st.projectFullPath(p)), "project_id": p.ID, "root_namespace_id": root[len(root)-1].ID}}, true
}

// registryProject is ContainerRegistry::Path#repository_project: the
// project whose full path is the longest prefix of the image path.
func (s *Server) registryProject(name string) *project {
	if name == "" || name != strings.ToLower(name) {
		return nil // registry paths are lower case
	}
	comps := strings.Split(name, "/")
	for i := len(comps); i > 0; i-- {
		if p := s.st.projectPaths[strings.Join(comps[:i], "/")]; p != nil {
			return p
		}
	}
	return nil
}

// registryCan is can_access?: pull needs read_container_image (Reporter+,
// or a deploy token with read_registry), push create_container_image
// (Developer+, or write_registry), delete and * admin_container_image
// (Maintainer+).
func (s *Server) registryCan(a *gitActor, p *project, action string) bool {
	level := s.userLevel(a.user, p)
	switch action {
	case "pull":
		return a.can(abReadImage) && (level >= 20 || a.deploy != nil && s.st.deployHas(a.deploy, p, "read_registry"))
	case "push":
		return a.can(abCreateImage) && (level >= 30 || a.deploy != nil && s.st.deployHas(a.deploy, p, "write_registry"))
	case "delete", "*":
		return a.can(abAdminImage) && level >= 40
	}
	return false
}
