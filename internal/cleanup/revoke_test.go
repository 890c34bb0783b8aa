package cleanup

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

const rootToken = "glpat-root0000000000000000"

// Every token in the fixture is expired, so `--expired` selects them all.
const fixture = `
now: 2026-11-25T12:00:00Z
groups:
  - path: platform
    tokens:
      - {name: group-old, description: old, scopes: [read_api], access_level: 20,
         created_at: 2026-01-01, expires_at: 2026-11-20}
    projects:
      - path: app
        tokens:
          - {name: app-old, description: old, scopes: [read_api], access_level: 20,
             created_at: 2026-01-01, expires_at: 2026-11-21}
          - {name: app-older, description: older, scopes: [read_api], access_level: 20,
             created_at: 2026-01-01, expires_at: 2026-11-19}
`

// world is the emulator behind a front door that can make chosen requests
// answer as GitLab does in cases the emulator cannot be driven into from
// here: 404 once a token has been removed (someone else deleted it between
// the listing and the revocation), 400 when the caller may not delete it.
type world struct {
	srv    *sim.Server
	client *gitlab.Client
	store  journal.Store
	mu     sync.Mutex
	answer map[string]answer // by "METHOD /path"
}

type answer struct {
	status int
	body   string
}

var (
	gone   = answer{http.StatusNotFound, `{"message":"404 Not Found"}`}
	denied = answer{http.StatusBadRequest, `{"message":"400 Bad request - Alice cannot delete app-older"}`}
)

func newWorld(t *testing.T) *world {
	t.Helper()
	clk := clock.NewFake(now)
	srv, err := sim.New(sim.Options{Clock: clk, RootToken: rootToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.LoadFixture(strings.NewReader(fixture)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.CreatePersonalToken(1, sim.TokenSpec{Name: "root-old", Scopes: []string{"read_api"},
		CreatedAt: *daysAgo(200), ExpiresAt: date("2026-11-01")}); err != nil {
		t.Fatal(err)
	}
	w := &world{srv: srv, answer: map[string]answer{}}
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		a, ok := w.answer[r.Method+" "+r.URL.Path]
		w.mu.Unlock()
		if ok {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(a.status)
			_, _ = rw.Write([]byte(a.body))
			return
		}
		srv.ServeHTTP(rw, r)
	}))
	t.Cleanup(hs.Close)
	w.client, err = gitlab.New(gitlab.Config{URL: hs.URL, Token: secret.New(rootToken), RetryMax: 1, HTTPClient: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sealer, err := secret.LoadOrCreateKey(filepath.Join(dir, "tw.key"))
	if err != nil {
		t.Fatal(err)
	}
	w.store, err = journal.Open(context.Background(), "sqlite://"+filepath.Join(dir, "tw.db"), sealer, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.store.Close() })
	return w
}

// candidates scans the emulator and selects the expired tokens.
func (w *world) candidates(t *testing.T) map[string]Candidate {
	t.Helper()
	rep, err := inventory.Scan(context.Background(), w.client, inventory.Options{Personal: true})
	if err != nil {
		t.Fatal(err)
	}
	sel := Select(rep.Tokens, now, Criteria{Expired: true, Thresholds: policy.DefaultThresholds()})
	out := map[string]Candidate{}
	for _, c := range sel.Revoke {
		out[c.Token.Name] = c
	}
	if len(out) != 4 {
		t.Fatalf("selected %d tokens, want the 4 expired ones: %v", len(out), out)
	}
	return out
}

func deletePath(t gitlab.Token) string {
	id := strconv.FormatInt(t.ID, 10)
	switch t.Resource.Type {
	case "group":
		return "DELETE /api/v4/groups/" + strconv.FormatInt(t.Resource.ID, 10) + "/access_tokens/" + id
	case "project":
		return "DELETE /api/v4/projects/" + strconv.FormatInt(t.Resource.ID, 10) + "/access_tokens/" + id
	}
	return "DELETE /api/v4/personal_access_tokens/" + id
}

func TestRevoke(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(w *world, cands map[string]Candidate)
		want    map[string]Outcome // by token name; the rest are revoked
		wantErr string             // the start of the failure's message
	}{
		{
			name: "group, project and personal tokens are revoked",
		},
		{
			name: "a token already removed (404) counts as already gone",
			setup: func(w *world, cands map[string]Candidate) {
				w.answer[deletePath(cands["app-old"].Token)] = gone
			},
			want: map[string]Outcome{"app-old": AlreadyGone},
		},
		{
			name: "GitLab refuses: failed with GitLab's message",
			setup: func(w *world, cands map[string]Candidate) {
				w.answer[deletePath(cands["app-older"].Token)] = denied
			},
			want:    map[string]Outcome{"app-older": Failed},
			wantErr: "GitLab answered 400 Bad request - Alice cannot delete app-older",
		},
		{
			name: "a revocation that keeps failing fails alone",
			setup: func(w *world, cands map[string]Candidate) {
				w.srv.Faults().ResetConnection("DELETE", "/access_tokens/"+strconv.FormatInt(cands["app-older"].Token.ID, 10)+"$", 100)
			},
			want:    map[string]Outcome{"app-older": Failed},
			wantErr: "cannot reach GitLab at http://",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			cands := w.candidates(t)
			if tt.setup != nil {
				tt.setup(w, cands)
			}
			var list []Candidate
			for _, c := range cands {
				list = append(list, c)
			}
			results := Revoke(context.Background(), w.client, list, Options{Concurrency: 2, Journal: w.store})
			if len(results) != len(list) {
				t.Fatalf("%d results for %d candidates", len(results), len(list))
			}
			rows, err := w.store.List(context.Background(), journal.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			byRef := map[string]*journal.Rotation{}
			for _, r := range rows {
				byRef[r.Ref] = r
			}
			for i, res := range results {
				name := res.Token.Name
				if res.Token.ID != list[i].Token.ID {
					t.Errorf("result %d is for %s, want the candidates' order", i, name)
				}
				want := tt.want[name]
				if want == "" {
					want = Revoked
				}
				if res.Outcome != want {
					t.Errorf("%s: outcome %q (err %v), want %q", name, res.Outcome, res.Err, want)
				}
				if st, _ := w.srv.Token(res.Token.ID); st.Revoked != (want == Revoked) {
					t.Errorf("%s: revoked in GitLab = %v, want %v", name, st.Revoked, want == Revoked)
				}
				r := byRef[Ref(res.Token)]
				if r == nil {
					t.Errorf("%s: no journal row for %s", name, Ref(res.Token))
					continue
				}
				wantStep := journal.StepDone
				if want == Failed {
					wantStep = journal.StepFailed
				}
				if r.Kind != journal.KindRevocation || r.Step != wantStep || r.OldTokenID != res.Token.ID || r.ID != res.RotationID {
					t.Errorf("%s: journal row %+v, want kind %s, token %d, step %s", name, r, journal.KindRevocation, res.Token.ID, wantStep)
				}
				if !strings.HasPrefix(r.Reason, "expired on ") {
					t.Errorf("%s: journal reason %q, want the selector", name, r.Reason)
				}
				if want == Failed && (res.Err == nil || r.Error != res.Err.Error() || !strings.HasPrefix(r.Error, tt.wantErr)) {
					t.Errorf("%s: failed with %v (journal %q), want an error starting %q", name, res.Err, r.Error, tt.wantErr)
				}
				if strings.Contains(r.Error, rootToken) || strings.Contains(r.Reason, rootToken) {
					t.Errorf("%s: the token leaked into the journal", name)
				}
			}
		})
	}
}

// An interrupted run revokes nothing more, and still records what it did not do.
func TestRevokeCanceled(t *testing.T) {
	w := newWorld(t)
	cands := w.candidates(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := cands["group-old"]
	res := Revoke(ctx, w.client, []Candidate{c}, Options{Journal: w.store})
	if res[0].Outcome != Failed {
		t.Fatalf("outcome %q, want failed", res[0].Outcome)
	}
	if st, _ := w.srv.Token(c.Token.ID); st.Revoked {
		t.Error("revoked after the context was canceled")
	}
	if res[0].RecordErr != nil || res[0].RotationID == "" {
		t.Errorf("not recorded: %v", res[0].RecordErr)
	}
}
