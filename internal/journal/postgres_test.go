package journal

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// The new secret is stored sealed: no column of any row, read straight from
// the tables, holds the plaintext, and the sealed bytes are there.
func TestPostgresSecretNotStoredInPlaintext(t *testing.T) {
	f := newFixture(t, postgresBackend)
	ctx := context.Background()
	r := f.minted(t)
	conn := pgtest.Conn(t, f.dsn)
	var sealed []byte
	if err := conn.QueryRow(ctx, `SELECT new_secret FROM rotations WHERE id = $1`, r.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 {
		t.Fatal("no sealed secret in the row")
	}
	rows, err := conn.Query(ctx, `SELECT convert_to(r::text, 'UTF8') FROM rotations r
		UNION ALL SELECT convert_to(e::text, 'UTF8') FROM events e`)
	if err != nil {
		t.Fatal(err)
	}
	all := [][]byte{sealed}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		all = append(all, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 { // the sealed bytes, one rotation, two events
		t.Fatalf("read %d rows, want 4", len(all))
	}
	for _, b := range all {
		if bytes.Contains(b, []byte(plaintext)) || bytes.Contains(b, []byte(plaintext[6:])) {
			t.Errorf("the database holds the plaintext secret: %.80q…", b)
		}
	}
	if got, err := f.store.Get(ctx, r.ID); err != nil || got.NewSecret.Reveal() != plaintext {
		t.Fatalf("Get: %v", err)
	}
}

// Daemons that start together on an empty database migrate it once.
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	dsn := pgtest.DSN(t)
	sealer, err := secret.LoadOrCreateKey(filepath.Join(t.TempDir(), "tw.key"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn, sealer, clock.NewFake(t0))
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	var versions int
	if err := pgtest.Conn(t, dsn).QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != len(postgresMigrations) {
		t.Errorf("schema_migrations has %d rows, want %d", versions, len(postgresMigrations))
	}
}
