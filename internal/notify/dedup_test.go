package notify_test

import (
	"context"
	"path/filepath"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// A daemon restarted (or taking over) on the same state does not announce
// again what was announced before: the journal keeps what was sent, on
// SQLite and on PostgreSQL.
func TestDedupSurvivesRestart(t *testing.T) {
	for _, b := range []struct {
		name  string
		state func(testing.TB) string
	}{
		{"sqlite", func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "state.db") }},
		{"postgres", pgtest.DSN},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			state := b.state(t)
			sealer, err := secret.LoadOrCreateKey(filepath.Join(t.TempDir(), "tw.key"))
			if err != nil {
				t.Fatal(err)
			}
			rcv := newReceiver(t)
			run := func(events ...notify.Event) {
				t.Helper()
				store, err := journal.Open(ctx, state, sealer, clock.NewFake(t0))
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				n := notify.New([]notify.Channel{notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL, HTTPClient: rcv.Client()})},
					store, clock.NewFake(t0), nil, fastRetry())
				for _, e := range events {
					if err := n.Notify(ctx, e); err != nil {
						t.Fatal(err)
					}
				}
				closeNow(t, n)
			}
			run(expiringEvent(7 * day))
			run(expiringEvent(7*day), expiringEvent(day))
			if got := rcv.delivered(); got != 2 {
				t.Errorf("messages = %d, want 2 (7d once, then 1d)", got)
			}
		})
	}
}
