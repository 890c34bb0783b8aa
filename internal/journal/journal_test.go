package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

const plaintext = "glpat-Journal0Secret1Value2"

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// A backend is one Store implementation; every test that does not look at
// a backend's files or connections runs against each (a conformance suite).
type backend struct {
	name string
	// newDSN returns the dsn of a fresh, empty journal; it skips the test
	// when the backend is not available here.
	newDSN func(t *testing.T) string
}

var (
	sqliteBackend = backend{"sqlite", func(t *testing.T) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "state", "tw.db")
	}}
	postgresBackend = backend{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }}
	backends        = []backend{sqliteBackend, postgresBackend}
)

// forEachBackend runs test once per backend, each with a fresh journal.
func forEachBackend(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, newFixture(t, b)) })
	}
}

type fixture struct {
	dsn    string
	path   string // the SQLite database file; "" for other backends
	sealer secret.Sealer
	clk    *clock.Fake
	store  Store
}

func newFixture(t *testing.T, b backend) *fixture {
	t.Helper()
	dir := t.TempDir()
	sealer, err := secret.LoadOrCreateKey(filepath.Join(dir, "tw.key"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dsn: b.newDSN(t), sealer: sealer, clk: clock.NewFake(t0)}
	f.path, _ = strings.CutPrefix(f.dsn, "sqlite://")
	if IsPostgres(f.dsn) {
		f.path = ""
	}
	f.store = f.open(t)
	return f
}

func (f *fixture) open(t *testing.T) Store {
	t.Helper()
	s, err := Open(context.Background(), f.dsn, f.sealer, f.clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// exec runs a statement on the journal's database, behind the Store's back.
func (f *fixture) exec(t *testing.T, q string) {
	t.Helper()
	var err error
	switch s := f.open(t).(type) {
	case *sqlStore:
		_, err = s.db.Exec(q)
	default:
		t.Fatalf("exec on a %T", s)
	}
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func ptr(t time.Time) *time.Time { return &t }

// create journals a new rotation r.
func (f *fixture) create(t *testing.T, r *Rotation) {
	t.Helper()
	if err := f.store.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// update journals r's new state with note.
func (f *fixture) update(t *testing.T, r *Rotation, note string) {
	t.Helper()
	if err := f.store.Update(context.Background(), r, note); err != nil {
		t.Fatal(err)
	}
}

func newRotation(ref string) *Rotation {
	return &Rotation{Ref: ref, Kind: KindRotation, Strategy: "overlap", ResourceType: "group", ResourcePath: "platform/infra", TokenName: "deploy", OldTokenID: 41, Reason: "due: expires 2026-12-01"}
}

func TestRoundTripEveryField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		r := newRotation("group/platform/infra:deploy")
		f.create(t, r)
		if len(r.ID) != 20 || r.ID[:4] != "rot-" {
			t.Errorf("ID = %q, want rot- and 16 hex", r.ID)
		}
		if r.Step != StepPlanned || !r.StartedAt.Equal(t0) || !r.UpdatedAt.Equal(t0) {
			t.Errorf("created = %+v", r)
		}

		f.clk.Advance(time.Minute)
		r.NewTokenID = 42
		r.NewExpiresAt = ptr(time.Date(2027, 2, 23, 0, 0, 0, 0, time.UTC))
		r.NewSecret = secret.New(plaintext)
		r.NewUsername = "gitlab+deploy-token-42"
		r.Step = StepMinted
		r.Attempts = 1
		f.update(t, r, "minted token 42")
		f.clk.Advance(time.Minute)
		r.Delivered = []string{"gitlab_variable:project/a/b:K@*", "file:/etc/x#K"}
		r.Step = StepDelivered
		r.RevokeAfter = ptr(t0.Add(time.Hour + 123456789))
		f.update(t, r, "delivered file:/etc/x#K")
		f.clk.Advance(time.Minute)
		r.Step = StepFailed
		r.Error = "verify: 401 Unauthorized"
		f.update(t, r, r.Error)
		if r.FinishedAt == nil || !r.FinishedAt.Equal(t0.Add(3*time.Minute)) || !r.UpdatedAt.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("final update: finished %v updated %v", r.FinishedAt, r.UpdatedAt)
		}

		got, err := f.store.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.NewSecret.Reveal() != plaintext {
			t.Errorf("secret did not round-trip")
		}
		if !reflect.DeepEqual(normal(got), normal(r)) {
			t.Errorf("round trip:\n got %+v\nwant %+v", normal(got), normal(r))
		}

		events, err := f.store.Events(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []Event{
			{r.ID, t0, StepPlanned, "due: expires 2026-12-01"},
			{r.ID, t0.Add(time.Minute), StepMinted, "minted token 42"},
			{r.ID, t0.Add(2 * time.Minute), StepDelivered, "delivered file:/etc/x#K"},
			{r.ID, t0.Add(3 * time.Minute), StepFailed, "verify: 401 Unauthorized"},
		}
		if !reflect.DeepEqual(events, want) {
			t.Errorf("events:\n got %+v\nwant %+v", events, want)
		}
	})
}

// normal makes a Rotation comparable with DeepEqual: times in UTC without
// monotonic readings; the secret compared separately.
func normal(r *Rotation) Rotation {
	c := *r
	c.NewSecret = secret.Secret{}
	u := func(t time.Time) time.Time { return t.UTC().Round(0) }
	up := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := u(*t)
		return &v
	}
	c.StartedAt, c.UpdatedAt = u(c.StartedAt), u(c.UpdatedAt)
	c.NewExpiresAt, c.RevokeAfter, c.FinishedAt = up(c.NewExpiresAt), up(c.RevokeAfter), up(c.FinishedAt)
	return c
}

// minted journals a rotation of group/g:t at step minted, with the
// plaintext secret.
func (f *fixture) minted(t *testing.T) *Rotation {
	t.Helper()
	r := newRotation("group/g:t")
	f.create(t, r)
	r.NewSecret, r.Step = secret.New(plaintext), StepMinted
	f.update(t, r, "minted")
	return r
}

func TestSecretIsEncryptedOnDisk(t *testing.T) {
	f := newFixture(t, sqliteBackend)
	ctx := context.Background()
	r := f.minted(t)
	check := func() {
		t.Helper()
		found := 0
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(f.path + suffix)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			found++
			if bytes.Contains(b, []byte(plaintext)) || bytes.Contains(b, []byte(plaintext[6:])) {
				t.Errorf("%s contains the plaintext secret", f.path+suffix)
			}
		}
		if found == 0 {
			t.Fatal("no database files found")
		}
	}
	check() // while open: the commit is in the WAL
	f.store.Close()
	check() // after the checkpoint on close
	// The row is there, sealed: the secret bytes are non-empty.
	s2 := f.open(t)
	got, err := s2.Get(ctx, r.ID)
	if err != nil || got.NewSecret.Reveal() != plaintext {
		t.Fatalf("reopen: %v", err)
	}
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	f := newFixture(t, sqliteBackend)
	if err := f.store.Create(context.Background(), newRotation("group/g:t")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{f.path, f.path + "-wal", f.path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s mode %04o, want no group/other access", p, perm)
		}
	}
	di, err := os.Stat(filepath.Dir(f.path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("created directory mode %04o, want 0700", perm)
	}
}

func TestWrongKeyFailsToLoadSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		r := newRotation("group/g:t")
		r.NewSecret = secret.New(plaintext)
		f.create(t, r)
		f.store.Close()
		other, err := secret.LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
		if err != nil {
			t.Fatal(err)
		}
		dsn := f.dsn
		if f.path != "" {
			dsn = f.path // a plain path works too
		}
		s, err := Open(ctx, dsn, other, f.clk)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Get(ctx, r.ID); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("Get with the wrong key: err = %v, want secret.ErrOpen", err)
		}
		// History still works: List does not decrypt.
		if rs, err := s.List(ctx, Filter{}); err != nil || len(rs) != 1 || !rs[0].NewSecret.IsZero() {
			t.Errorf("List with the wrong key: %v, %v", rs, err)
		}
	})
}

func TestInProgress(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := newRotation("group/g:t")
		f.create(t, a)
		b := newRotation("group/g:t")
		if err := f.store.Create(ctx, b); !errors.Is(err, ErrInProgress) {
			t.Fatalf("second unfinished rotation of the same ref: err = %v, want ErrInProgress", err)
		}
		if _, err := f.store.Get(ctx, b.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("the refused rotation was stored: %v", err)
		}
		// Another ref is independent.
		f.create(t, newRotation("group/g:other"))
		// Once the first is finished, a new one may start.
		a.Step = StepDone
		f.update(t, a, "done")
		c := newRotation("group/g:t")
		if err := f.store.Create(ctx, c); err != nil {
			t.Fatalf("after done: %v", err)
		}
		c.Step = StepFailed
		f.update(t, c, "boom")
		if err := f.store.Create(ctx, newRotation("group/g:t")); err != nil {
			t.Fatalf("after failed: %v", err)
		}
	})
}

func TestUpdateUnknown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		r := newRotation("group/g:t")
		r.ID = "rot-0000000000000000"
		if err := f.store.Update(context.Background(), r, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
		if _, err := f.store.Get(context.Background(), "rot-nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get: err = %v, want ErrNotFound", err)
		}
	})
}

func TestUnfinishedAndList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var ids []string
		for i, ref := range []string{"group/g:a", "group/g:b", "project/g/p:c", "group/g:d"} {
			r := newRotation(ref)
			r.NewSecret = secret.New(fmt.Sprintf("glpat-%d-xxxxxxxxxxxxxxxx", i))
			f.create(t, r)
			ids = append(ids, r.ID)
			if i == 1 {
				r.Step = StepDone
				f.update(t, r, "done")
			}
			f.clk.Advance(time.Hour)
		}
		// A second rotation of "a" after the first failed.
		first, _ := f.store.Get(ctx, ids[0])
		first.Step = StepFailed
		f.update(t, first, "x")
		again := newRotation("group/g:a")
		f.create(t, again)

		un, err := f.store.Unfinished(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := idsOf(un), []string{ids[2], ids[3], again.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("Unfinished = %v, want %v (oldest first, no done/failed)", got, want)
		}
		if un[0].NewSecret.Reveal() != "glpat-2-xxxxxxxxxxxxxxxx" {
			t.Error("Unfinished does not return the secret")
		}

		tests := []struct {
			name string
			f    Filter
			want []string
		}{
			{"all, newest first", Filter{}, []string{again.ID, ids[3], ids[2], ids[1], ids[0]}},
			{"by ref", Filter{Ref: "group/g:a"}, []string{again.ID, ids[0]}},
			{"limit", Filter{Limit: 2}, []string{again.ID, ids[3]}},
			{"since", Filter{Since: t0.Add(2 * time.Hour)}, []string{again.ID, ids[3], ids[2]}},
			{"ref and since", Filter{Ref: "group/g:a", Since: t0.Add(time.Minute)}, []string{again.ID}},
			{"unknown ref", Filter{Ref: "group/g:zzz"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rs, err := f.store.List(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := idsOf(rs); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("List = %v, want %v", got, tt.want)
				}
				for _, r := range rs {
					if !r.NewSecret.IsZero() {
						t.Error("List decrypted a secret")
					}
				}
			})
		}
	})
}

func idsOf(rs []*Rotation) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestReopenKeepsData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		r := newRotation("group/g:t")
		f.create(t, r)
		r.Step, r.NewSecret, r.Delivered = StepDelivered, secret.New(plaintext), []string{"file:/x"}
		f.update(t, r, "delivered")
		if err := f.store.Close(); err != nil {
			t.Fatal(err)
		}
		s := f.open(t) // migrations must not run twice
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Step != StepDelivered || got.NewSecret.Reveal() != plaintext || !reflect.DeepEqual(got.Delivered, []string{"file:/x"}) {
			t.Errorf("after reopen: %+v", got)
		}
		if un, _ := s.Unfinished(ctx); len(un) != 1 {
			t.Errorf("unfinished after reopen: %d", len(un))
		}
		// And the single-unfinished rule survives the reopen.
		if err := s.Create(ctx, newRotation("group/g:t")); !errors.Is(err, ErrInProgress) {
			t.Errorf("err = %v, want ErrInProgress", err)
		}
	})
}

func TestConcurrentUpdates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		// A second store on the same file, as a second process would have.
		other := f.open(t)
		const n, steps = 8, 10
		rs := make([]*Rotation, n)
		for i := range rs {
			rs[i] = newRotation(fmt.Sprintf("group/g:t%d", i))
			f.create(t, rs[i])
		}
		var wg sync.WaitGroup
		for i, r := range rs {
			store := f.store
			if i%2 == 1 {
				store = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < steps; j++ {
					r.Attempts = j + 1
					r.Delivered = append(r.Delivered, fmt.Sprintf("sink-%d", j))
					r.NewSecret = secret.New(fmt.Sprintf("glpat-%s-%d", r.Ref, j))
					if err := store.Update(ctx, r, fmt.Sprintf("step %d", j)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, r := range rs {
			got, err := f.store.Get(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Attempts != steps || len(got.Delivered) != steps || got.NewSecret.Reveal() != fmt.Sprintf("glpat-%s-%d", r.Ref, steps-1) {
				t.Errorf("%s: attempts %d delivered %d", r.Ref, got.Attempts, len(got.Delivered))
			}
			ev, err := f.store.Events(ctx, r.ID)
			if err != nil || len(ev) != steps+1 {
				t.Errorf("%s: %d events, %v", r.Ref, len(ev), err)
			}
		}
	})
}

func TestOpenDSN(t *testing.T) {
	ctx := context.Background()
	sealer, _ := secret.LoadOrCreateKey(filepath.Join(t.TempDir(), "k"))
	clk := clock.NewFake(t0)
	for _, dsn := range []string{"mysql://db", "redis://db"} {
		if _, err := Open(ctx, dsn, sealer, clk); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Open(%q): err = %v, want ErrUnsupported", dsn, err)
		}
	}
	// PostgreSQL is supported: an unreachable server is an error naming
	// it, not ErrUnsupported, and does not hang.
	for _, dsn := range []string{"postgres://tw@127.0.0.1:1/tw?connect_timeout=5", "postgresql://tw@127.0.0.1:1/tw?connect_timeout=5"} {
		_, err := Open(ctx, dsn, sealer, clk)
		if err == nil || errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("Open(%q): err = %v, want a connection error naming the server", dsn, err)
		}
	}
	if _, err := Open(ctx, "sqlite://", sealer, clk); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), nil, clk); err == nil {
		t.Error("nil sealer accepted")
	}
	// A relative sqlite:// path is relative to the working directory.
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := Open(ctx, "sqlite://rel.db", sealer, clk)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "rel.db")); err != nil {
		t.Error(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.store.Close()
		f.exec(t, `INSERT INTO schema_migrations(version, applied_at) VALUES (999, 0)`)
		if _, err := Open(context.Background(), f.dsn, f.sealer, f.clk); err == nil {
			t.Error("a database from a newer tokenwarden was opened")
		}
	})
}

func TestPragmas(t *testing.T) {
	f := newFixture(t, sqliteBackend)
	ss := f.store.(*sqlStore)
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := ss.db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	var version int
	if err := ss.db.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("schema version %d, %v", version, err)
	}
}

// Written's mark moves with every write, by this store or another on the
// same state, and names the refs written since a mark: what a reader that
// keeps its reads until a ref is written again (the engine's plan) needs.
func TestWrittenNamesTheRefsWrittenSinceAMark(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		other := f.open(t) // a second process on the same state
		written := func(since int64) (int64, []string) {
			t.Helper()
			mark, refs, err := f.store.Written(ctx, since)
			if err != nil {
				t.Fatal(err)
			}
			return mark, refs
		}
		m0, refs := written(-1)
		if m0 != 0 || refs != nil {
			t.Errorf("Written(-1) of an empty journal = %d, %v: want the mark 0 alone", m0, refs)
		}
		a, b := newRotation("group/g:a"), newRotation("group/g:b")
		for _, r := range []*Rotation{a, b} {
			if err := f.store.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		m1, refs := written(m0)
		if m1 <= m0 || !reflect.DeepEqual(refs, []string{"group/g:a", "group/g:b"}) {
			t.Errorf("after creating a and b: mark %d → %d, refs %v", m0, m1, refs)
		}
		if m, refs := written(m1); m != m1 || len(refs) != 0 {
			t.Errorf("nothing written: mark %d → %d, refs %v", m1, m, refs)
		}
		b.Step = StepMinted
		if err := other.Update(ctx, b, "minted"); err != nil {
			t.Fatal(err)
		}
		m2, refs := written(m1)
		if m2 <= m1 || !reflect.DeepEqual(refs, []string{"group/g:b"}) {
			t.Errorf("after the other store updated b: mark %d → %d, refs %v", m1, m2, refs)
		}
		if m, refs := written(-1); m != m2 || refs != nil {
			t.Errorf("Written(-1) = %d, %v: want the mark %d alone", m, refs, m2)
		}
	})
}
