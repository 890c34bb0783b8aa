// Package web owns tokenwarden's dashboard: server-rendered html/template
// pages with embedded CSS (no JavaScript needed) showing the daemon's state —
// an overview with the expiry timeline, the token table, a token's history and
// deliveries, the journal — plus the "rotate now" action, the operator login,
// and the /healthz, /readyz and /metrics endpoints.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

//go:embed templates/*.html static/*.css
var assets embed.FS

// PasswordEnv is the environment variable read for the operator password
// when the config names none.
const PasswordEnv = "TOKENWARDEN_PASSWORD"

// Backend is what the dashboard shows and acts on; *daemon.Daemon is one.
type Backend interface {
	// Leading is false while another daemon on the shared state leads:
	// every page but /healthz then answers 503 "standing by".
	Leading() bool
	State() daemon.State
	Ready() bool
	RotateNow(ctx context.Context, ref string) (engine.Outcome, error)
}

// Options configure the dashboard.
type Options struct {
	Backend Backend
	Store   journal.Store // rotation history and journal page; readiness
	// Password is the operator password; it is also accepted as
	// "Authorization: Bearer <password>". Required.
	Password secret.Secret
	ReadOnly bool // hide and refuse "rotate now"
	Clock    clock.Clock
	Log      *slog.Logger
	// Metrics serves /metrics (behind the login); nil → 404.
	Metrics http.Handler
	Version string
	// SessionTTL is how long a login lasts; 0 → 12h.
	SessionTTL time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (serve.trusted_proxies).
	TrustedProxies []netip.Prefix
}

// Server is the dashboard's http.Handler.
type Server struct {
	o     Options
	mux   *http.ServeMux
	pages pages
	auth  *auth
	index tokenIndex // the tokens page's sort orders
}

// NewServer checks opts and builds the handler.
func NewServer(o Options) (*Server, error) {
	if o.Backend == nil || o.Store == nil {
		return nil, errors.New("web: Backend and Store are required")
	}
	if o.Password.IsZero() {
		return nil, fmt.Errorf("web: no operator password: set serve.password_env or serve.password_file in the config, or $%s", PasswordEnv)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, mux: http.NewServeMux(), pages: p, auth: newAuth(o.Password, o.Clock, o.SessionTTL, o.TrustedProxies)}
	s.routes()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	// Cap every body before anything reads it: the dashboard's forms are a
	// few hundred bytes.
	if r.ContentLength > maxBody {
		tooLarge(w)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !s.o.Backend.Leading() && (r.Method != http.MethodGet || r.URL.Path != "/healthz") {
		// So that a load balancer sends operators to the leader.
		http.Error(w, "standing by: another tokenwarden serve is the leader", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// maxBody caps request bodies (forms: a password or a CSRF token, and next=).
const maxBody = 8 << 10

func tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	http.Error(w, fmt.Sprintf("request body too large: the limit is %d KiB", maxBody>>10), http.StatusRequestEntityTooLarge)
}

// parseForm reads the posted form (URL-encoded or multipart) within the
// body cap. It answers 413 or 400 itself and returns false when it cannot.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		tooLarge(w)
		return false
	case err != nil:
		http.Error(w, "malformed form data; reload the page and try again", http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /static/", http.FileServerFS(assets))
	m.HandleFunc("GET /login", s.loginForm)
	m.HandleFunc("POST /login", s.login)
	m.Handle("POST /logout", s.authed(s.logout))
	m.Handle("GET /{$}", s.authed(s.overview))
	m.Handle("GET /tokens", s.authed(s.tokens))
	m.Handle("GET /tokens/{kind}/{id}", s.authed(s.token))
	m.Handle("POST /tokens/{kind}/{id}/rotate", s.authed(s.rotate))
	// Before tokens were keyed by kind: an access token's id alone.
	m.Handle("GET /tokens/{id}", s.authed(s.tokenByID))
	m.Handle("POST /tokens/{id}/rotate", s.authed(s.rotate))
	m.Handle("GET /journal", s.authed(s.journal))
	m.Handle("GET /metrics", s.authed(s.metrics))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz: the journal answers, the first scan is done and the managing
// token still works.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.o.Store.List(ctx, journal.Filter{Limit: 1}); err != nil {
		s.o.Log.Warn("readyz: journal unreachable", "err", err)
		http.Error(w, "journal unreachable", http.StatusServiceUnavailable)
		return
	}
	if !s.o.Backend.Ready() {
		http.Error(w, "first scan not done yet", http.StatusServiceUnavailable)
		return
	}
	if st := s.o.Backend.State(); st.ManagingDead() {
		http.Error(w, "the managing token (gitlab.token_env / gitlab.token_file) has expired or been revoked: "+st.Managing.ReplaceFix(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ *session) {
	if s.o.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	s.o.Metrics.ServeHTTP(w, r)
}

// Serve serves the dashboard on ln until ctx ends, then gives the requests
// in flight 10 seconds to finish. It does not run the daemon: serve runs
// both (and the leader lease) side by side.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.o.Log.Handler(), slog.LevelWarn)}
	shutdown := make(chan error, 1)
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		shutdown <- hs.Shutdown(sctx)
	})
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		stop()
		hs.Close()
		return fmt.Errorf("http: %w", err)
	}
	// Only Shutdown closes the server: wait until the requests finished.
	return <-shutdown
}
