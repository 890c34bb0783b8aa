package notify_test

import (
	"context"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
)

// The daemon that takes over (or restarts) on the same PostgreSQL state does
// not announce again what was announced before.
func TestPostgresDedupSharedByDaemons(t *testing.T) {
	ctx := context.Background()
	state := pgtest.DSN(t)
	rcv := newReceiver(t)
	run := func(events ...notify.Event) {
		t.Helper()
		store, err := notify.OpenPostgresDedup(ctx, state)
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
}

func TestOpenPostgresDedupRejectsOtherBackends(t *testing.T) {
	for _, state := range []string{"sqlite:///x.db", "/x.db", "mysql://u:pw@db/tw"} {
		if _, err := notify.OpenPostgresDedup(context.Background(), state); err == nil {
			t.Errorf("OpenPostgresDedup(%q): no error", state)
		}
	}
}
