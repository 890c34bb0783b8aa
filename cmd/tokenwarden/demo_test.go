package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// TestDemoNeverPrintsASecret runs the demo with the engine logging at debug
// level into the same buffer as its output, then looks for every secret the
// demo handled — the seeded ones, the root token, every secret minted (read
// back from the journal with its key) — in that output and in the SQLite files.
func TestDemoNeverPrintsASecret(t *testing.T) {
	var out bytes.Buffer
	var secrets []secret.Secret
	var dbFiles []string
	var delivered int
	err := runDemo(context.Background(), &out, demoOptions{
		log: &out,
		inspect: func(w *demoWorld) {
			secrets = append(secrets, w.secrets...)
			ctx := context.Background()
			rots, err := w.rt.store.List(ctx, journal.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rots {
				full, err := w.rt.store.Get(ctx, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !full.NewSecret.IsZero() {
					secrets = append(secrets, full.NewSecret)
				}
			}
			// What the consumers hold now must be among the minted secrets.
			b, err := os.ReadFile(filepath.Join(w.dir, "registry.env"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if strings.Contains(string(b), s.Reveal()) {
					delivered++
				}
			}
			w.rt.store.Close()
			dbFiles, _ = filepath.Glob(filepath.Join(w.dir, "tokenwarden.db*"))
			for i, f := range dbFiles {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				dbFiles[i] = string(b)
			}
		},
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if len(secrets) < 8 {
		t.Fatalf("collected only %d secrets; the demo should have handled at least 8", len(secrets))
	}
	if delivered != 1 {
		t.Fatalf("registry.env should hold exactly one of the minted secrets, holds %d", delivered)
	}
	if len(dbFiles) == 0 {
		t.Fatal("no journal files found")
	}
	text := out.String()
	for _, want := range []string{"level=INFO msg=\"rotation step\"", "✓ rotated project/acme/infra/app:mirror-sync (self)",
		"✓ rotated group/acme/infra:release-bot (rotate)", "✓ created project/acme/infra/docs:docs-preview", "old token", "revoked"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, s := range secrets {
		v := s.Reveal()
		if strings.Contains(text, v) {
			t.Errorf("demo output or log contains a secret (%s)", s.Hint())
		}
		// Also the part after the prefix: a secret cut or re-encoded.
		if body := strings.TrimPrefix(v, "glpat-"); len(body) >= 12 && strings.Contains(text, body[:12]) {
			t.Errorf("demo output or log contains a secret's body (%s)", s.Hint())
		}
		for _, db := range dbFiles {
			if strings.Contains(db, v) {
				t.Errorf("journal file contains a secret in plain text (%s)", s.Hint())
			}
		}
	}
}

// gate holds every request to the emulator once armed, until released, and
// says when the first one arrived.
type gate struct {
	armed    atomic.Bool
	once     sync.Once
	reached  chan struct{}
	released chan struct{}
}

func newGate() *gate { return &gate{reached: make(chan struct{}), released: make(chan struct{})} }

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.armed.Load() {
			g.once.Do(func() { close(g.reached) })
			select {
			case <-g.released:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// waitFor polls cond until it holds, failing the test after a minute or when
// the demo ends.
func waitFor(t *testing.T, what string, done <-chan error, out *simtest.Buffer, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute; output:\n%s", what, out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("%s: the demo ended early: %v\n%s", what, err, out.String())
		default:
		}
	}
}

// TestDemoServe: demo --serve keeps the dashboard up on the demo's data and
// prints where and how to log in, but only once the daemon's first scan is
// done (/readyz answers): before, the dashboard would list no tokens. The
// emulator is held while the daemon starts, so that the first scan cannot
// finish before the test has looked, however fast or slow the machine.
func TestDemoServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out simtest.Buffer
	g := newGate()
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, &out, demoOptions{serve: true, gitlab: g.wrap, serving: func() { g.armed.Store(true) }})
	}()
	re := regexp.MustCompile(`Dashboard: (http://\S+)/  \(password for this demo only: (\S+)\)`)
	waitFor(t, "the daemon asks GitLab", done, &out, func() bool {
		select {
		case <-g.reached:
			return true
		default:
			return false
		}
	})
	if re.MatchString(out.String()) {
		t.Errorf("demo --serve printed the dashboard's URL while its first scan could not have finished:\n%s", out.String())
	}
	close(g.released)
	var m []string
	waitFor(t, "the dashboard line", done, &out, func() bool { m = re.FindStringSubmatch(out.String()); return m != nil })
	base, password := m[1], m[2]
	get := func(path, bearer string) (int, string) { return httpGet(t, base+path, bearer) }
	if code, body := get("/readyz", ""); code != http.StatusOK {
		t.Errorf("/readyz once the URL is printed: %d %q, want 200", code, body)
	}
	if code, _ := get("/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without login: %d, want 401", code)
	}
	code, body := get("/tokens", password)
	if code != http.StatusOK || !strings.Contains(body, "deploy-registry-read") || !strings.Contains(body, "release-bot") {
		t.Errorf("/tokens with the printed password: %d, want 200 listing the demo's managed tokens:\n%s", code, body)
	}
	// The demo's config scans every kind (serve.kinds: all): the
	// dashboard's kind filter finds the seeded deploy tokens, and /metrics
	// has their expiry by kind.
	code, body = get("/tokens?kind=deploy_token", password)
	if code != http.StatusOK || !regexp.MustCompile(`<a href="/tokens/deploy_token/\d+">`).MatchString(body) || strings.Contains(body, "<td>project_access_token</td>") {
		t.Errorf("/tokens?kind=deploy_token: %d, want the demo's deploy tokens and only them:\n%s", code, body)
	}
	code, body = get("/metrics", password)
	if code != http.StatusOK || !strings.Contains(body, `tokenwarden_token_expiry_timestamp_seconds{kind="project_access_token",managed="true",resource_path="acme/infra/app",resource_type="project",token_name="deploy-registry-read"}`) {
		t.Errorf("/metrics: %d, want the demo's managed token", code)
	}
	if !strings.Contains(body, `tokenwarden_token_expiry_timestamp_seconds{kind="deploy_token"`) {
		t.Error("/metrics has no deploy token's expiry")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo --serve after interrupt: %v", err)
	}
}

// TestDemoServeNotReadyStillPrints: when the first scan is done but /readyz
// stays 503 for another reason (here GitLab refuses the demo's token once
// serving starts), demo --serve still prints where the dashboard is, with
// the reason, instead of waiting for ever.
func TestDemoServeNotReadyStillPrints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out simtest.Buffer
	var refuse atomic.Bool
	deny := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"message":"401 Unauthorized"}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, &out, demoOptions{serve: true, gitlab: deny, serving: func() { refuse.Store(true) }})
	}()
	waitFor(t, "the dashboard line", done, &out, func() bool { return strings.Contains(out.String(), "Dashboard: http://") })
	waitFor(t, "the reason", done, &out, func() bool { return strings.Contains(out.String(), "Metrics:") })
	if !strings.Contains(out.String(), "The first scan is done, but /readyz says: the managing token") {
		t.Errorf("demo --serve does not say why the dashboard is not ready:\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo --serve after interrupt: %v", err)
	}
}
