package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// serve watches the token it runs with: it wakes when that token crosses 30,
// 7 and 1 days before expiry and when it expires (not only at scans), sends
// one notification each time, and reports it dead once GitLab refuses it.
func TestDaemonWatchesTheManagingToken(t *testing.T) {
	w := newWorld(t)
	tok := w.managingToken(10 * day)
	exp := *tok.ExpiresAt
	w.token("deploy", 200*day, 300*day)
	w.writeConfig(tokenSpec{"deploy", "overlap"}) // scans every 30 days

	p := w.start(nil)
	wake := p.asleep(t)
	st := p.d.State()
	if st.Managing == nil || st.Managing.Token.ID != tok.ID || st.Managing.Level != managing.LevelWarning {
		t.Fatalf("after the first scan the managing token is %+v, want token %d at warning", st.Managing, tok.ID)
	}
	if m := p.d.Snapshot().Managing; m == nil || m.ExpiresAt == nil || !m.ExpiresAt.Equal(exp) || !m.Valid || m.Name != "tokenwarden" {
		t.Fatalf("metrics snapshot of the managing token = %+v", m)
	}
	if want := exp.Add(-7 * day); !wake.Equal(want) {
		t.Fatalf("daemon sleeps until %s, want %s (7 days before the managing token expires)", wake, want)
	}
	if got := thresholds(w.events, daemon.ManagingRef); len(got) != 1 || got[0] != 30*day {
		t.Fatalf("managing token notifications %v, want one at 30 days", got)
	}

	w.Clock.Advance(3 * day)
	if wake := p.asleep(t); !wake.Equal(exp.Add(-day)) {
		t.Fatalf("then sleeps until %s, want 1 day before expiry", wake)
	}
	if got := p.d.State().Managing.Level; got != managing.LevelCritical {
		t.Fatalf("7 days before expiry the level is %s, want critical", got)
	}
	w.Clock.Advance(6 * day)
	if wake := p.asleep(t); !wake.Equal(exp) {
		t.Fatalf("then sleeps until %s, want the expiry %s", wake, exp)
	}
	w.Clock.Advance(day)
	p.asleep(t)
	if !p.d.State().ManagingDead() {
		t.Fatalf("at its expiry the managing token is %+v, want dead", p.d.State().Managing)
	}
	if m := p.d.Snapshot().Managing; m == nil || m.Valid {
		t.Errorf("metrics snapshot after expiry = %+v, want not valid", m)
	}
	if got := thresholds(w.events, daemon.ManagingRef); len(got) != 3 || got[1] != 7*day || got[2] != day {
		t.Errorf("managing token thresholds notified %v, want 30, 7 and 1 days, once each", got)
	}
	if kinds := w.events.kinds(daemon.ManagingRef); kinds[len(kinds)-1] != notify.KindExpired {
		t.Errorf("managing token events %v, want expired last", kinds)
	}
}

func thresholds(r *recorder, ref string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, e := range r.events {
		if e.TokenRef == ref && e.Kind == notify.KindExpiring {
			out = append(out, e.Threshold)
		}
	}
	return out
}

// With gitlab.self_rotate the daemon renews its own token when the renewal
// window opens (it wakes for it), writes token_file, and goes on with the
// new token: the old one is revoked by GitLab.
func TestDaemonRenewsTheManagingToken(t *testing.T) {
	w := newWorld(t)
	old := w.managingToken(40 * day)
	exp := *old.ExpiresAt
	w.selfRotate = true
	w.token("deploy", 200*day, 300*day)
	w.writeConfig(tokenSpec{"deploy", "overlap"})
	// rotate_before 10d of a 40d lifetime: due 10 days before expiry.
	w.editConfig("token_file: root.token}", "token_file: tw.token, self_rotate: true}", "")
	simtest.WriteFile(t, filepath.Join(w.Dir, "tw.token"), w.managing+"\n")

	p := w.start(nil)
	renewAt := exp.Add(-10 * day)
	// It wakes at the 30-day notice, then at the renewal time.
	wakes := []time.Time{p.asleep(t)}
	for w.Clock.Now().Before(renewAt) && len(wakes) < 5 {
		w.Clock.Advance(wakes[len(wakes)-1].Sub(w.Clock.Now()))
		wakes = append(wakes, p.asleep(t))
	}
	if !contains(wakes, renewAt) {
		t.Fatalf("daemon woke at %v, never at the managing token's renewal time %s", wakes, renewAt)
	}
	st := p.d.State().Managing
	if st == nil || st.Token.ID == old.ID || st.Level != managing.LevelOK {
		t.Fatalf("after renewal the managing token is %+v, want a new one, ok", st)
	}
	if tok, _ := w.Srv.Token(old.ID); !tok.Revoked {
		t.Error("old managing token still active")
	}
	b, _ := os.ReadFile(filepath.Join(w.Dir, "tw.token"))
	if got := w.whoami(strings.TrimSpace(string(b))); got != st.Token.ID {
		t.Errorf("tw.token holds token %d, want %d", got, st.Token.ID)
	}
	if kinds := w.events.kinds(daemon.ManagingRef); !contains(kinds, notify.KindRotated) {
		t.Errorf("managing token events %v, want rotated", kinds)
	}
}
