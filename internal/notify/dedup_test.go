package notify_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
)

// A daemon restarted (or taking over) on the same state does not announce
// again what was announced before: on SQLite and on PostgreSQL.
// closingDedup is a persistent DedupStore.
type closingDedup interface {
	notify.DedupStore
	Close() error
}

func TestDedupSurvivesRestart(t *testing.T) {
	backends := []struct {
		name  string
		state func(testing.TB) string
		open  func(context.Context, string) (closingDedup, error)
	}{
		{"sqlite", func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "state.db") },
			func(ctx context.Context, s string) (closingDedup, error) {
				return notify.OpenSQLiteDedup(ctx, s)
			}},
		{"postgres", pgtest.DSN,
			func(ctx context.Context, s string) (closingDedup, error) {
				return notify.OpenPostgresDedup(ctx, s)
			}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			state := b.state(t)
			rcv := newReceiver(t)
			run := func(events ...notify.Event) {
				t.Helper()
				store, err := b.open(ctx, state)
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

func TestOpenSQLiteDedupRejectsOtherBackends(t *testing.T) {
	for _, state := range []string{"postgres://u:pw@db/tw", "sqlite://", "sqlite:///x.db?mode=ro"} {
		if _, err := notify.OpenSQLiteDedup(context.Background(), state); err == nil {
			t.Errorf("OpenSQLiteDedup(%q): no error", state)
		} else if strings.Contains(err.Error(), "u:pw") {
			t.Errorf("error shows the DSN's password: %v", err)
		}
	}
}
