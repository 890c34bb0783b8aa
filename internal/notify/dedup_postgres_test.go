package notify_test

import (
	"context"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
)

func TestOpenPostgresDedupRejectsOtherBackends(t *testing.T) {
	for _, state := range []string{"sqlite:///x.db", "/x.db", "mysql://u:pw@db/tw"} {
		if _, err := notify.OpenPostgresDedup(context.Background(), state); err == nil {
			t.Errorf("OpenPostgresDedup(%q): no error", state)
		}
	}
}
