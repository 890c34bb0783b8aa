package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	Kinds    []count // by kind, in gitlab.Kinds order; only kinds the scan found
	Findings []count
	Managed  int
	Timeline timeline
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	st := s.o.Backend.State()
	d := s.index.overview(st, s.o.Clock.Now())
	d.State = st
	s.render(w, r, http.StatusOK, "overview", sess, d)
}

// buildOverview counts st's tokens by state and finding and lays out the
// timeline as of now.
func buildOverview(st daemon.State, now time.Time) overviewData {
	d := overviewData{Timeline: buildTimeline(st, now)}
	byState := map[string]int{}
	byKind := map[string]int{}
	byCode := map[string]int{}
	sev := map[string]string{}
	for _, t := range st.Tokens {
		byState[t.State]++
		byKind[t.TokenKind()]++
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
	for _, k := range gitlab.Kinds {
		if n := byKind[k]; n > 0 {
			d.Kinds = append(d.Kinds, count{Label: k, N: n, Href: "/tokens?kind=" + k})
		}
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
	return d
}

type tokensData struct {
	Scanned               bool           // false until the daemon's first scan is done
	Rows                  []daemon.Token // this page's
	Total                 int            // tokens in the last scan
	Matched               int            // tokens that pass the filters
	Groups, Codes, States []string
	Kinds                 []string // the kinds in the last scan, in gitlab.Kinds order
	Group, Finding, State string
	Kind                  string
	Query                 string // q: part of the name or resource path
	Sort, Order           string
	Sorts                 []option
	// Page of Pages (from 1), PerPage rows each; From and To number this
	// page's first and last row; Prev and Next link the pages around it.
	Page, Pages, PerPage int
	From, To             int
	Prev, Next           string
}

// Tokens page sizes: per_page defaults to 100 and is at most 1000.
const (
	defaultPerPage = 100
	maxPerPage     = 1000
)

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
	d := tokensData{Scanned: st.Scanned, Group: q.Get("group"), Finding: q.Get("finding"), State: q.Get("state"), Kind: q.Get("kind"),
		Query: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort"), Order: q.Get("order"), Sorts: sorts, Total: len(st.Tokens),
		States: []string{gitlab.StateActive, gitlab.StateExpired, gitlab.StateRevoked, "managed", "unmanaged"}}
	if !slices.ContainsFunc(sorts, func(o option) bool { return o.Value == d.Sort }) {
		d.Sort = "expires"
	}
	if d.Order != "desc" {
		d.Order = "asc"
	}
	order, ix := s.index.get(st, d.Sort)
	d.Groups, d.Codes, d.Kinds = ix.groups, ix.codes, ix.kinds
	lower := ix.lower
	needle := strings.ToLower(d.Query)
	keep := func(i int32) bool {
		t := &st.Tokens[i]
		if d.Group != "" {
			if g := groupOf(t.Token); g != d.Group && !strings.HasPrefix(g, d.Group+"/") {
				return false
			}
		}
		if d.Kind != "" && t.TokenKind() != d.Kind {
			return false
		}
		if d.Finding != "" && !slices.ContainsFunc(t.Findings, func(f policy.Finding) bool { return f.Code == d.Finding }) {
			return false
		}
		if needle != "" && !strings.Contains(lower[i], needle) {
			return false
		}
		switch d.State {
		case "":
		case "managed":
			return t.Ref != ""
		case "unmanaged":
			return t.Ref == ""
		default:
			return t.State == d.State
		}
		return true
	}
	matched := make([]int32, 0, len(order))
	for i := range order {
		if d.Order == "desc" {
			i = len(order) - 1 - i
		}
		if keep(order[i]) {
			matched = append(matched, order[i])
		}
	}
	start, end := d.paginate(q, len(matched))
	for _, i := range matched[start:end] {
		d.Rows = append(d.Rows, st.Tokens[i])
	}
	s.render(w, r, http.StatusOK, "tokens", sess, d)
}

// paginate picks the page q asks for among matched rows, returns the
// bounds of its rows, and links the pages before and after it, keeping the
// filters.
func (d *tokensData) paginate(q url.Values, matched int) (start, end int) {
	d.Matched = matched
	d.PerPage = defaultPerPage
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		d.PerPage = min(n, maxPerPage)
	}
	d.Pages = max((matched+d.PerPage-1)/d.PerPage, 1)
	d.Page = 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		d.Page = min(n, d.Pages)
	}
	start = (d.Page - 1) * d.PerPage
	end = min(start+d.PerPage, matched)
	d.From, d.To = start+1, end
	link := func(page int) string {
		v := url.Values{}
		for _, k := range []string{"group", "kind", "finding", "state", "q", "sort", "order", "per_page"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		v.Set("page", strconv.Itoa(page))
		return "/tokens?" + v.Encode()
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	return start, end
}

// tokenIndex keeps, for the state last shown, the tokens page's sort orders
// (each computed on first use) and its lists of groups and finding codes:
// with 100,000 tokens, sorting them is most of a page's cost, and the state
// only changes with a scan or a plan.
type tokenIndex struct {
	mu     sync.Mutex
	key    indexKey
	orders map[string][]int32
	lists  indexLists
	ov     *overviewData // the overview's counts and timeline, for ovDay
	ovDay  time.Time
}

// indexLists are what the tokens page needs of every token besides an order.
type indexLists struct {
	groups, codes []string // for the filters' choices
	kinds         []string
	lower         []string // each token's name and resource path, lower case, for q
	keys          []sortKey
}

// indexKey tells one state from the next: a scan or a plan replaces the
// token slice and moves the times.
type indexKey struct {
	first            *daemon.Token
	n                int
	scanned, planned time.Time
}

// overview is buildOverview's answer, kept for the state and the day.
func (x *tokenIndex) overview(st daemon.State, now time.Time) overviewData {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.refresh(st)
	day := now.UTC().Truncate(24 * time.Hour)
	if x.ov == nil || !x.ovDay.Equal(day) {
		d := buildOverview(st, now)
		x.ov, x.ovDay = &d, day
	}
	return *x.ov
}

// refresh forgets what was kept when st is not the state it was kept for.
func (x *tokenIndex) refresh(st daemon.State) {
	key := indexKey{n: len(st.Tokens), scanned: st.ScannedAt, planned: st.PlannedAt}
	if len(st.Tokens) > 0 {
		key.first = &st.Tokens[0]
	}
	if x.orders != nil && x.key == key {
		return
	}
	x.key, x.orders, x.ov = key, map[string][]int32{}, nil
	x.lists = indexLists{}
}

func (x *tokenIndex) get(st daemon.State, by string) (order []int32, lists indexLists) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.refresh(st)
	if x.lists.keys == nil {
		gs, cs, ks := map[string]bool{}, map[string]bool{}, map[string]bool{}
		lower := make([]string, len(st.Tokens))
		keys := make([]sortKey, len(st.Tokens))
		for i := range st.Tokens {
			t := &st.Tokens[i]
			keys[i] = keyOf(t)
			gs[groupOf(t.Token)] = true
			ks[t.TokenKind()] = true
			for _, f := range t.Findings {
				cs[f.Code] = true
			}
			lower[i] = strings.ToLower(t.Name + "\x00" + t.Resource.Path)
		}
		kinds := slices.DeleteFunc(slices.Clone(gitlab.Kinds), func(k string) bool { return !ks[k] })
		x.lists = indexLists{groups: slices.Sorted(maps.Keys(gs)), codes: slices.Sorted(maps.Keys(cs)), kinds: kinds, lower: lower, keys: keys}
	}
	order, ok := x.orders[by]
	if !ok {
		order = make([]int32, len(st.Tokens))
		for i := range order {
			order[i] = int32(i)
		}
		keys, compare := x.lists.keys, keyOrder(by)
		slices.SortFunc(order, func(a, b int32) int { return compare(&keys[a], &keys[b]) })
		x.orders[by] = order
	}
	return order, x.lists
}

// sortKey is what the tokens page's orders compare, read from each token
// once per state (comparing whole tokens copied them at every step).
type sortKey struct {
	path, name        string
	id                int64
	expires, lastUsed int64 // Unix; no expiry sorts last, never used first
	rank              int   // of the worst finding
}

func keyOf(t *daemon.Token) sortKey {
	k := sortKey{path: t.Resource.Path, name: t.Name, id: t.ID, expires: 1 << 62, rank: policy.Rank(t.Worst)}
	if t.ExpiresAt != nil {
		k.expires = t.ExpiresAt.Unix()
	}
	if t.LastUsedAt != nil {
		k.lastUsed = t.LastUsedAt.Unix()
	}
	return k
}

// keyOrder compares two tokens for the sort by: its own key first, then
// resource path, name and id.
func keyOrder(by string) func(a, b *sortKey) int {
	byName := func(a, b *sortKey) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	}
	then := func(c int, a, b *sortKey) int {
		if c != 0 {
			return c
		}
		return byName(a, b)
	}
	switch by {
	case "severity":
		return func(a, b *sortKey) int { return then(cmp.Compare(b.rank, a.rank), a, b) }
	case "name":
		return func(a, b *sortKey) int { return then(strings.Compare(a.name, b.name), a, b) }
	case "resource":
		return byName
	case "last-used":
		return func(a, b *sortKey) int { return then(cmp.Compare(a.lastUsed, b.lastUsed), a, b) }
	}
	return func(a, b *sortKey) int { return then(cmp.Compare(a.expires, b.expires), a, b) }
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

// tokenPath is the page of the token of kind with id.
func tokenPath(kind string, id int64) string {
	return "/tokens/" + url.PathEscape(kind) + "/" + strconv.FormatInt(id, 10)
}

// lookup finds the token r's path names: {kind} and {id}, or, on the paths
// from before tokens were keyed by kind, {id} alone — an access token's,
// whose ids GitLab numbers together across group, project, personal and
// service account tokens.
func lookup(st daemon.State, r *http.Request) (daemon.Token, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return daemon.Token{}, false
	}
	if kind := r.PathValue("kind"); kind != "" {
		return st.Token(kind, id)
	}
	for _, k := range gitlab.Kinds {
		if gitlab.AccessTokenKind(k) {
			if t, ok := st.Token(k, id); ok {
				return t, true
			}
		}
	}
	return daemon.Token{}, false
}

// tokenByID sends the page of an access token by id alone (links from
// before tokens were keyed by kind) to its page.
func (s *Server) tokenByID(w http.ResponseWriter, r *http.Request, sess *session) {
	t, ok := lookup(s.o.Backend.State(), r)
	if !ok {
		s.errorPage(w, r, sess, http.StatusNotFound, "No token with that id was found in the last scan.")
		return
	}
	http.Redirect(w, r, tokenPath(t.TokenKind(), t.ID), http.StatusMovedPermanently)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, sess *session) {
	st := s.o.Backend.State()
	t, ok := lookup(st, r)
	if !ok {
		s.errorPage(w, r, sess, http.StatusNotFound, "No token of that kind with that id was found in the last scan.")
		return
	}
	d := tokenData{Token: t}
	if t.Ref != "" {
		if m, ok := st.ManagedByRef(t.Ref); ok {
			d.Managed = &m
			d.CanRotate = !s.o.ReadOnly && t.State == gitlab.StateActive
		}
		var err error
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
	if s.o.ReadOnly {
		s.errorPage(w, r, sess, http.StatusForbidden, "The dashboard is read-only: rotating is switched off (--read-only).")
		return
	}
	t, ok := lookup(s.o.Backend.State(), r)
	if !ok || t.Ref == "" {
		s.errorPage(w, r, sess, http.StatusNotFound, "Only tokens managed by the config can be rotated.")
		return
	}
	back := tokenPath(t.TokenKind(), t.ID)
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
