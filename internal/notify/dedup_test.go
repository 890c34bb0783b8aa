package notify_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
)

// A daemon restarted on the same SQLite database does not announce again
// what it announced before the restart.
func TestSQLiteDedupSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	state := "sqlite://" + filepath.Join(t.TempDir(), "state.db")
	rcv := newReceiver(t)
	run := func(events ...notify.Event) {
		t.Helper()
		store, err := notify.OpenSQLiteDedup(ctx, state)
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

func TestOpenSQLiteDedupRejectsOtherBackends(t *testing.T) {
	for _, state := range []string{"postgres://u:pw@db/tw", "sqlite://", "sqlite:///x.db?mode=ro"} {
		if _, err := notify.OpenSQLiteDedup(context.Background(), state); err == nil {
			t.Errorf("OpenSQLiteDedup(%q): no error", state)
		} else if strings.Contains(err.Error(), "u:pw") {
			t.Errorf("error shows the DSN's password: %v", err)
		}
	}
}
