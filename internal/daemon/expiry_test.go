package daemon_test

import (
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
)

// Expiry notifications come at the thresholds the config sets, the same
// that scan and the dashboard flag by: policy.expires_warning and
// policy.expires_critical for the tokens found, gitlab.expires_warning and
// gitlab.expires_critical for the managing token (then 1 day before).
func TestExpiryNotificationsFollowTheConfig(t *testing.T) {
	w := newWorld(t)
	exp := *w.managingToken(50 * day).ExpiresAt
	w.token("reporting", 45*day, 300*day) // not managed: found by the scan
	w.token("deploy", 200*day, 300*day)
	w.writeConfig(tokenSpec{"deploy", "overlap"})
	w.editConfig("token_file: root.token}", "token_file: root.token, expires_warning: 60d, expires_critical: 20d}",
		"policy: {expires_warning: 60d, expires_critical: 14d}\n")

	p := w.start(nil)
	wake := p.asleep(t)
	if got := w.events.expiring("reporting"); len(got) != 1 || got[0] != 60*day {
		t.Errorf("a token 45 days from expiry under policy.expires_warning 60d: notified at %v, want once at 60 days", got)
	}
	if got := thresholds(w.events, daemon.ManagingRef); len(got) != 1 || got[0] != 60*day {
		t.Errorf("the managing token 50 days from expiry under gitlab.expires_warning 60d: notified at %v, want once at 60 days", got)
	}
	if st := p.d.State().Managing; st == nil || st.Level != managing.LevelWarning {
		t.Errorf("managing token state %+v, want level warning", st)
	}
	if want := exp.Add(-20 * day); !wake.Equal(want) {
		t.Errorf("daemon sleeps until %s, want %s (gitlab.expires_critical before the managing token expires)", wake, want)
	}
}

// expiring are the thresholds of the expiring notifications about the token
// named name, in the order they were sent.
func (r *recorder) expiring(name string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, e := range r.events {
		if e.Token.Name == name && e.Kind == notify.KindExpiring {
			out = append(out, e.Threshold)
		}
	}
	return out
}
