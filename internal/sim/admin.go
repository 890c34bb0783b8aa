package sim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// serveAdmin serves the emulator's own endpoints (root/admin token required):
//
//	GET  /-/sim/stats   → Stats as JSON
//	GET  /-/sim/clock   → {"now": …} (no token needed: processes that follow
//	                     the emulator's clock, TOKENWARDEN_SIM_CLOCK, read it)
//	POST /-/sim/clock   {"advance":"72h"} or {"set":"2027-01-01T00:00:00Z"} → {"now": …}
//	POST /-/sim/faults  {"latency":"20ms","fail_rate":0.1,"throttle":3,
//	                     "reset":{"method":"GET","path":"/groups$","count":1},
//	                     "drop_after_commit":{"method":"POST","path":"/access_tokens$","count":1},
//	                     "clear":true}   (clear first, then the rest)
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/-/sim/clock" {
		writeJSON(w, http.StatusOK, map[string]jsonTime{"now": jsonTime(s.clock.Now())})
		return
	}
	if !s.isAdminToken(tokenFromRequest(r)) {
		message(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /-/sim/stats":
		writeJSON(w, http.StatusOK, s.Stats())
	case "POST /-/sim/clock":
		s.adminClock(w, r)
	case "POST /-/sim/faults":
		s.adminFaults(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	}
}

func (s *Server) isAdminToken(secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.st.byDigest[digest(secret)]
	if secret == "" || !ok {
		return false
	}
	t := s.st.token(id)
	return t.active(s.clock.Now()) && s.st.users[t.UserID].Admin
}

func (s *Server) adminClock(w http.ResponseWriter, r *http.Request) {
	var req struct{ Advance, Set string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		message(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	fake, ok := s.clock.(settableClock)
	if !ok {
		message(w, http.StatusConflict, errNotFake.Error())
		return
	}
	switch {
	case req.Advance != "":
		d, err := time.ParseDuration(req.Advance)
		if err != nil {
			message(w, http.StatusBadRequest, "advance: "+err.Error())
			return
		}
		fake.Advance(d)
	case req.Set != "":
		t, err := time.Parse(time.RFC3339, req.Set)
		if err != nil {
			message(w, http.StatusBadRequest, "set: "+err.Error())
			return
		}
		fake.Set(t)
	default:
		message(w, http.StatusBadRequest, `want {"advance":"<duration>"} or {"set":"<RFC 3339 time>"}`)
		return
	}
	writeJSON(w, http.StatusOK, map[string]jsonTime{"now": jsonTime(fake.Now())})
}

type faultRuleJSON struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Count  int    `json:"count"`
}

func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Clear           bool           `json:"clear"`
		Latency         string         `json:"latency"`
		FailRate        *float64       `json:"fail_rate"`
		Throttle        int            `json:"throttle"`
		Reset           *faultRuleJSON `json:"reset"`
		DropAfterCommit *faultRuleJSON `json:"drop_after_commit"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		message(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	var latency time.Duration
	if req.Latency != "" {
		d, err := time.ParseDuration(req.Latency)
		if err != nil {
			message(w, http.StatusBadRequest, "latency: "+err.Error())
			return
		}
		latency = d
	}
	for _, rule := range []*faultRuleJSON{req.Reset, req.DropAfterCommit} {
		if rule == nil {
			continue
		}
		if _, err := regexp.Compile(rule.Path); err != nil {
			message(w, http.StatusBadRequest, "path: "+err.Error())
			return
		}
	}
	f := s.faults
	if req.Clear {
		f.Clear()
	}
	if req.Latency != "" {
		f.SetLatency(latency)
	}
	if req.FailRate != nil {
		f.FailRate(*req.FailRate)
	}
	if req.Throttle > 0 {
		f.Throttle(req.Throttle)
	}
	if req.Reset != nil {
		f.ResetConnection(req.Reset.Method, req.Reset.Path, max(req.Reset.Count, 1))
	}
	if req.DropAfterCommit != nil {
		f.DropAfterCommit(req.DropAfterCommit.Method, req.DropAfterCommit.Path, max(req.DropAfterCommit.Count, 1))
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
