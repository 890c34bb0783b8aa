package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
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
