package journal

import (
	"context"
	"os"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// TestRedactingStoreKeepsProcessSecretsOut: a rotation error that quotes a
// hook's stderr holding the managing token is stored with [REDACTED], in
// the rotation, its events and the database file; a secret read back from
// the journal becomes known to the redactor.
func TestRedactingStoreKeepsProcessSecretsOut(t *testing.T) {
	const managing = "glpat-managing-admin-token-01"
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		red := secret.NewRedactor()
		red.Add(secret.New(managing))
		store := Redacting(f.store, red)
		r := newRotation("group/platform/infra:deploy")
		r.Reason = "due; hook env GITLAB_TOKEN=" + managing
		if err := store.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.Step = StepMinted
		r.NewSecret = secret.New(plaintext)
		r.Error = "sink exec: exit code 3; stderr: found " + managing + " and " + plaintext
		if err := store.Update(ctx, r, "attempt failed: "+r.Error); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := f.store.Events(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		texts := []string{got.Reason, got.Error}
		for _, e := range evs {
			texts = append(texts, e.Detail)
		}
		for _, s := range texts {
			if strings.Contains(s, managing) || strings.Contains(s, plaintext) {
				t.Errorf("journal text holds a secret: %q", s)
			}
		}
		if !strings.Contains(got.Error, "found [REDACTED] and [REDACTED]") {
			t.Errorf("error = %q, want both secrets redacted", got.Error)
		}
		// A secret read back (resuming after a crash) is known from then on.
		fresh := secret.NewRedactor()
		if _, err := Redacting(f.store, fresh).Unfinished(ctx); err != nil {
			t.Fatal(err)
		}
		if fresh.Scrub(plaintext) != secret.Redacted {
			t.Error("a secret read from the journal was not added to the redactor")
		}
		if f.path != "" {
			f.store.Close()
			for _, p := range []string{f.path, f.path + "-wal"} {
				b, _ := os.ReadFile(p)
				if strings.Contains(string(b), managing) || strings.Contains(string(b), plaintext) {
					t.Errorf("%s holds a secret in plain text", p)
				}
			}
		}

	})
}
