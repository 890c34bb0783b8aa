package journal

import (
	"context"
	"testing"
)

// A notification marked sent stays sent across a reopen (a restarted
// daemon, or another one taking over the shared state, does not announce
// it again); an unknown key is not sent.
func TestNotificationSentSurvivesReopen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const key = "webhook:0|expiring|group/g:t|7d"
		if sent, err := f.store.NotificationSent(ctx, key); err != nil || sent {
			t.Fatalf("NotificationSent before any = %v, %v; want false", sent, err)
		}
		if err := f.store.MarkNotificationSent(ctx, key, t0); err != nil {
			t.Fatal(err)
		}
		// Marking again (two channels racing, a retry) is no error.
		if err := f.store.MarkNotificationSent(ctx, key, t0.Add(1)); err != nil {
			t.Fatal(err)
		}
		f.store.Close()
		s := f.open(t)
		if sent, err := s.NotificationSent(ctx, key); err != nil || !sent {
			t.Errorf("NotificationSent after reopen = %v, %v; want true", sent, err)
		}
		if sent, err := s.NotificationSent(ctx, key+"x"); err != nil || sent {
			t.Errorf("NotificationSent(other key) = %v, %v; want false", sent, err)
		}
	})
}

// tokenwarden before the journal owned it created notify_sent on its own,
// beside the journal's tables: upgrading keeps what it recorded.
func TestNotifySentOfEarlierVersionsKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.store.Close()
		// The database as the earlier version left it: schema version 1,
		// and the table it made itself with one delivery in it.
		// (One statement list: exec reopens, and so migrates, each time.)
		f.exec(t, `DROP TABLE notify_sent;
			ALTER TABLE rotations DROP COLUMN new_username;
			DELETE FROM schema_migrations WHERE version > 1;
			CREATE TABLE notify_sent (key TEXT PRIMARY KEY, sent_at BIGINT NOT NULL);
			INSERT INTO notify_sent(key, sent_at) VALUES ('old-key', 1)`)
		s := f.open(t)
		if sent, err := s.NotificationSent(ctx, "old-key"); err != nil || !sent {
			t.Errorf("NotificationSent(old-key) after upgrade = %v, %v; want true", sent, err)
		}
	})
}
