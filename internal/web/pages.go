package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

type count struct {
	Label, Class, Href string
	N                  int
}

type overviewData struct {
	State    daemon.State
	States   []count
	Findings []count
	Managed  int
	Timeline timeline
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	st := s.o.Backend.State()
	d := overviewData{State: st, Timeline: buildTimeline(st, s.o.Clock.Now())}
	byState := map[string]int{}
	byCode := map[string]int{}
	sev := map[string]string{}
	for _, t := range st.Tokens {
		byState[t.State]++
		if t.Ref != "" {
			d.Managed++
		}
		for _, f := range t.Findings {
			byCode[f.Code]++
			sev[f.Code] = f.Severity
		}
	}
	for _, k := range []string{gitlab.StateActive, gitlab.StateExpired, gitlab.StateRevoked} {
		d.States = append(d.States, count{Label: k, N: byState[k], Class: "state-" + k, Href: "/tokens?state=" + k})
	}
	for code, n := range byCode {
		d.Findings = append(d.Findings, count{Label: code, N: n, Class: "sev-" + sev[code], Href: "/tokens?finding=" + code})
	}
	slices.SortFunc(d.Findings, func(a, b count) int {
		if c := cmp.Compare(policy.Rank(sev[b.Label]), policy.Rank(sev[a.Label])); c != 0 {
			return c
		}
		return cmp.Compare(a.Label, b.Label)
	})
	s.render(w, r, http.StatusOK, "overview", sess, d)
}

type tokensData struct {
	Scanned               bool // false until the daemon's first scan is done
	Rows                  []daemon.Token
	Total                 int
	Groups, Codes, States []string
	Group, Finding, State string
	Sort, Order           string
	Sorts                 []option
}

type option struct{ Value, Label string }

var sorts = []option{{"expires", "Expiry"}, {"severity", "Severity"}, {"name", "Name"}, {"resource", "Resource"}, {"last-used", "Last used"}}

// groupOf is the namespace a token lives in: the group itself, or a project's parent.
func groupOf(t gitlab.Token) string {
	if t.Resource.Type == "project" {
		if i := strings.LastIndex(t.Resource.Path, "/"); i > 0 {
			return t.Resource.Path[:i]
		}
	}
	return t.Resource.Path
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request, sess *session) {
	st := s.o.Backend.State()
	q := r.URL.Query()
	d := tokensData{Scanned: st.Scanned, Group: q.Get("group"), Finding: q.Get("finding"), State: q.Get("state"),
		Sort: q.Get("sort"), Order: q.Get("order"), Sorts: sorts, Total: len(st.Tokens),
		States: []string{gitlab.StateActive, gitlab.StateExpired, gitlab.StateRevoked, "managed", "unmanaged"}}
	if !slices.ContainsFunc(sorts, func(o option) bool { return o.Value == d.Sort }) {
		d.Sort = "expires"
	}
	if d.Order != "desc" {
		d.Order = "asc"
	}
	groups, codes := map[string]bool{}, map[string]bool{}
	for _, t := range st.Tokens {
		g := groupOf(t.Token)
		groups[g] = true
		for _, f := range t.Findings {
			codes[f.Code] = true
		}
		if d.Group != "" && g != d.Group && !strings.HasPrefix(g, d.Group+"/") {
			continue
		}
		if d.Finding != "" && !slices.ContainsFunc(t.Findings, func(f policy.Finding) bool { return f.Code == d.Finding }) {
			continue
		}
		switch d.State {
		case "":
		case "managed":
			if t.Ref == "" {
				continue
			}
		case "unmanaged":
			if t.Ref != "" {
				continue
			}
		default:
			if t.State != d.State {
				continue
			}
		}
		d.Rows = append(d.Rows, t)
	}
	for g := range groups {
		d.Groups = append(d.Groups, g)
	}
	for c := range codes {
		d.Codes = append(d.Codes, c)
	}
	slices.Sort(d.Groups)
	slices.Sort(d.Codes)
	slices.SortStableFunc(d.Rows, rowOrder(d.Sort))
	if d.Order == "desc" {
		slices.Reverse(d.Rows)
	}
	s.render(w, r, http.StatusOK, "tokens", sess, d)
}

func timeKey(t *time.Time, missing int64) int64 {
	if t == nil {
		return missing
	}
	return t.Unix()
}

func rowOrder(by string) func(a, b daemon.Token) int {
	byName := func(a, b daemon.Token) int {
		return cmp.Or(cmp.Compare(a.Resource.Path, b.Resource.Path), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	}
	switch by {
	case "severity":
		return func(a, b daemon.Token) int {
			return cmp.Or(cmp.Compare(policy.Rank(b.Worst), policy.Rank(a.Worst)), byName(a, b))
		}
	case "name":
		return func(a, b daemon.Token) int { return cmp.Or(cmp.Compare(a.Name, b.Name), byName(a, b)) }
	case "resource":
		return byName
	case "last-used":
		return func(a, b daemon.Token) int {
			return cmp.Or(cmp.Compare(timeKey(a.LastUsedAt, 0), timeKey(b.LastUsedAt, 0)), byName(a, b))
		}
	}
	return func(a, b daemon.Token) int {
		return cmp.Or(cmp.Compare(timeKey(a.ExpiresAt, 1<<62), timeKey(b.ExpiresAt, 1<<62)), byName(a, b))
	}
}

type tokenData struct {
	Token      daemon.Token
	Managed    *daemon.Managed
	History    []historyEntry
	Deliveries []delivery
	CanRotate  bool
}

type historyEntry struct {
	Rotation *journal.Rotation
	Events   []journal.Event
}

type delivery struct {
	Sink       string
	LastAt     *time.Time
	RotationID string
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	st := s.o.Backend.State()
	t, ok := st.Token(id)
	if err != nil || !ok {
		s.errorPage(w, r, sess, http.StatusNotFound, "No token with that id was found in the last scan.")
		return
	}
	d := tokenData{Token: t}
	if t.Ref != "" {
		if m, ok := st.ManagedByRef(t.Ref); ok {
			d.Managed = &m
			d.CanRotate = !s.o.ReadOnly && t.State == gitlab.StateActive
		}
		if d.History, err = s.history(r.Context(), t.Ref); err != nil {
			s.o.Log.Error("journal", "err", err)
			s.errorPage(w, r, sess, http.StatusInternalServerError, "The journal could not be read.")
			return
		}
		if d.Managed != nil {
			d.Deliveries = deliveries(d.Managed.Deliver, d.History)
		}
	}
	s.render(w, r, http.StatusOK, "token", sess, d)
}

// history is the ref's last rotations, newest first, with their events.
func (s *Server) history(ctx context.Context, ref string) ([]historyEntry, error) {
	rs, err := s.o.Store.List(ctx, journal.Filter{Ref: ref, Limit: 20})
	if err != nil {
		return nil, err
	}
	out := make([]historyEntry, 0, len(rs))
	for _, r := range rs {
		ev, err := s.o.Store.Events(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, historyEntry{Rotation: r, Events: ev})
	}
	return out, nil
}

// deliveries says when each sink last received a secret, from the journal's
// "delivered to <sink>" events.
func deliveries(sinks []string, hist []historyEntry) []delivery {
	out := make([]delivery, 0, len(sinks))
	for _, sk := range sinks {
		dl := delivery{Sink: sk}
	search:
		for _, h := range hist { // newest rotation first
			for _, e := range slices.Backward(h.Events) {
				if e.Detail == "delivered to "+sk || strings.HasPrefix(e.Detail, "delivered to "+sk+" (") {
					at := e.At
					dl.LastAt, dl.RotationID = &at, h.Rotation.ID
					break search
				}
			}
		}
		out = append(out, dl)
	}
	return out
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request, sess *session) {
	back := "/tokens/" + r.PathValue("id")
	if s.o.ReadOnly {
		s.errorPage(w, r, sess, http.StatusForbidden, "The dashboard is read-only: rotating is switched off (--read-only).")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	t, ok := s.o.Backend.State().Token(id)
	if err != nil || !ok || t.Ref == "" {
		s.errorPage(w, r, sess, http.StatusNotFound, "Only tokens managed by the config can be rotated.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	out, err := s.o.Backend.RotateNow(ctx, t.Ref)
	msg := rotateMessage(t.Ref, out, err)
	s.o.Log.Info("rotate now", "token", t.Ref, "client", r.RemoteAddr, "result", msg)
	if sess.bearer {
		code := http.StatusOK
		if err != nil {
			code = http.StatusConflict
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintln(w, msg)
		return
	}
	s.auth.setFlash(sess, msg)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func rotateMessage(ref string, o engine.Outcome, err error) string {
	switch {
	case errors.Is(err, journal.ErrInProgress):
		return fmt.Sprintf("%s already has a rotation in progress.", ref)
	case err != nil && o.Rotation == nil:
		return fmt.Sprintf("Could not rotate %s: %v", ref, err)
	}
	r := o.Rotation
	switch o.Status {
	case engine.StatusDone:
		return fmt.Sprintf("Rotated %s (%s): token %d is live.", ref, r.ID, r.NewTokenID)
	case engine.StatusWaiting:
		return fmt.Sprintf("Rotated %s (%s): token %d is live and delivered; the old token is revoked after the grace period.", ref, r.ID, r.NewTokenID)
	case engine.StatusRetry:
		return fmt.Sprintf("Rotation %s of %s stopped at step %s and is retried later: %v", r.ID, ref, r.Step, o.Err)
	}
	return fmt.Sprintf("Rotation %s of %s failed: %v", r.ID, ref, o.Err)
}

type journalData struct {
	Rotations []*journal.Rotation
	Limit     int
}

func (s *Server) journal(w http.ResponseWriter, r *http.Request, sess *session) {
	const limit = 200
	rs, err := s.o.Store.List(r.Context(), journal.Filter{Limit: limit})
	if err != nil {
		s.o.Log.Error("journal", "err", err)
		s.errorPage(w, r, sess, http.StatusInternalServerError, "The journal could not be read.")
		return
	}
	s.render(w, r, http.StatusOK, "journal", sess, journalData{Rotations: rs, Limit: limit})
}
