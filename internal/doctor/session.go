package doctor

import (
	"net/http"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// session is what the checks learn along the chain and hand to the next one.
type session struct {
	in      Input
	clock   clock.Clock
	http    *http.Client
	timeout time.Duration
	warnIn  time.Duration
	baseURL string // instance root without /api/v4 and trailing slash

	api    *gitlab.Client // set by checkValid
	self   gitlab.Token   // the token as GitLab describes it
	scopes map[string]bool

	deploy *deployProbes // a deploy token's probes (deploy.go), once made
}

func newSession(in Input, cfg Config) *session {
	s := &session{in: in, clock: cfg.Clock, http: cfg.HTTPClient, warnIn: cfg.ExpiryWarning}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	s.timeout = cfg.Timeout
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: s.timeout}
	}
	if s.warnIn == 0 {
		s.warnIn = 30 * 24 * time.Hour
	}
	s.baseURL = instanceRoot(in.URL)
	return s
}

// instanceRoot accepts the URL people paste — with or without a trailing
// slash or /api/v4 — and returns the instance root.
func instanceRoot(u string) string {
	u = strings.TrimSpace(u)
	u = strings.TrimRight(u, "/")
	u = strings.TrimSuffix(u, "/api/v4")
	return strings.TrimRight(u, "/")
}

// client returns a client for the token under examination.
func (s *session) client() (*gitlab.Client, error) {
	if s.api != nil {
		return s.api, nil
	}
	c, err := s.newClient(s.in.Token)
	if err != nil {
		return nil, err
	}
	s.api = c
	return s.api, nil
}

// newClient is a client that asks once: one retry, no waiting out a
// throttled read round after round (doctor is interactive).
func (s *session) newClient(tok secret.Secret) (*gitlab.Client, error) {
	return gitlab.New(gitlab.Config{URL: s.baseURL, Token: tok, HTTPClient: s.http, RetryMax: 1, ThrottleRounds: 1, Timeout: s.timeout})
}
