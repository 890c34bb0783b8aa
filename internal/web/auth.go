package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

const cookieName = "tokenwarden_session"

type session struct {
	id      string
	csrf    string
	expires time.Time
	flash   string
	bearer  bool // authenticated by header: no cookie, no CSRF needed
}

// auth holds the sessions and the login limits, in memory: a restart logs
// everyone out.
type auth struct {
	pw      [32]byte // sha256 of the password: compared in constant time
	clock   clock.Clock
	ttl     time.Duration
	trusted []netip.Prefix // proxies whose X-Forwarded-For names the client
	limits  *loginLimits

	mu       sync.Mutex
	sessions map[string]*session
}

func newAuth(pw secret.Secret, clk clock.Clock, ttl time.Duration, trusted []netip.Prefix) *auth {
	return &auth{pw: sha256.Sum256([]byte(pw.Reveal())), clock: clk, ttl: ttl, trusted: unmapPrefixes(trusted),
		limits: newLoginLimits(clk, ttl), sessions: map[string]*session{}}
}

// check compares a password attempt with the operator password in constant time.
func (a *auth) check(attempt string) bool {
	h := sha256.Sum256([]byte(attempt))
	return subtle.ConstantTimeCompare(h[:], a.pw[:]) == 1
}

// attempt checks a password sent by the client of r against the operator
// password and the login limits (see loginLimits), and names the client for
// the log.
func (a *auth) attempt(r *http.Request, password string) (verdict, string) {
	src := source(r, a.trusted)
	return a.limits.attempt(src, a.check(password)), src
}

func randomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// GeneratePassword returns a random operator password, for callers (demo
// --serve) that have none configured and print the one they use.
func GeneratePassword() secret.Secret { return secret.New(randomID()[:24]) }

func (a *auth) newSession() *session {
	s := &session{id: randomID(), csrf: randomID(), expires: a.clock.Now().Add(a.ttl)}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	for id, old := range a.sessions {
		if !now.Before(old.expires) {
			delete(a.sessions, id)
		}
	}
	a.sessions[s.id] = s
	return s
}

func (a *auth) lookup(id string) *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[id]
	if s == nil {
		return nil
	}
	if !a.clock.Now().Before(s.expires) {
		delete(a.sessions, id)
		return nil
	}
	return s
}

func (a *auth) drop(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, id)
}

// takeFlash returns and clears the session's one-time message.
func (a *auth) takeFlash(s *session) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

func (a *auth) setFlash(s *session, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.flash = msg
}

// secure reports whether the client talks HTTPS to us (directly or through
// a proxy that says so).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sameOrigin rejects cross-site form posts: an Origin header, when sent,
// must name this host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

type authedHandler func(http.ResponseWriter, *http.Request, *session)

// authed lets logged-in requests through (session cookie, or the password
// as a bearer token) and sends browsers to the login page. Every POST must
// carry the session's CSRF token, unless it came with a bearer header: a
// browser never adds that header on its own.
func (s *Server) authed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			switch verdict, client := s.auth.attempt(r, v); verdict {
			case limited:
				s.o.Log.Warn("bearer rate limited", "client", client)
				http.Error(w, "too many failed attempts; wait a minute", http.StatusTooManyRequests)
				return
			case failed:
				s.o.Log.Warn("wrong bearer token", "client", client)
				http.Error(w, "wrong bearer token", http.StatusUnauthorized)
				return
			}
			sess = &session{bearer: true}
		} else if c, err := r.Cookie(cookieName); err == nil {
			sess = s.auth.lookup(c.Value)
		}
		if sess == nil {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/metrics") {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="tokenwarden"`)
			http.Error(w, "login required", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !sess.bearer {
			if !sameOrigin(r) {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
			if !s.parseForm(w, r) {
				return
			}
			got := r.PostFormValue("csrf")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
				http.Error(w, "missing or wrong CSRF token; reload the page and try again", http.StatusForbidden)
				return
			}
		}
		h(w, r, sess)
	})
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", nil, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

type loginData struct {
	Next  string
	Error string
}

// safeNext keeps redirects after login on this site: a path starting with
// one "/". Browsers drop tabs and newlines anywhere in a URL and read "\" as
// "/", and http.Redirect cleans "/./" away, so "/\t/evil" and "/./\evil" both
// become "//evil" in a browser: any control character or backslash is refused.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") ||
		strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	return n
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	next := safeNext(r.PostFormValue("next"))
	verdict, client := s.auth.attempt(r, r.PostFormValue("password"))
	switch verdict {
	case limited:
		s.o.Log.Warn("login rate limited", "client", client)
		s.render(w, r, http.StatusTooManyRequests, "login", nil, loginData{Next: next, Error: "Too many attempts. Wait a minute and try again."})
		return
	case failed:
		s.o.Log.Warn("login failed", "client", client)
		s.render(w, r, http.StatusUnauthorized, "login", nil, loginData{Next: next, Error: "Wrong password."})
		return
	}
	sess := s.auth.newSession()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sess.id, Path: "/", HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteStrictMode, Expires: sess.expires, MaxAge: int(s.o.SessionTTL / time.Second),
	})
	s.o.Log.Info("login", "client", client)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.bearer {
		s.auth.drop(sess.id)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
