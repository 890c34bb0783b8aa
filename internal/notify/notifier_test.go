package notify_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

const day = 24 * time.Hour

func fastRetry() notify.Option { return notify.WithRetry(4, time.Millisecond, 5*time.Millisecond) }

func closeNow(t *testing.T, n *notify.Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNotifierDeduplicates(t *testing.T) {
	rotated := func(id int64, rot string) notify.Event {
		return notify.Event{Kind: notify.KindRotated, TokenRef: "group/g:ci", Token: notify.Token{ID: id, Name: "ci"}, RotationID: rot}
	}
	finding := func(code string) notify.Event {
		return notify.Event{Kind: notify.KindNewFinding, Token: notify.Token{ID: 9, Name: "x", ResourceType: "project", ResourcePath: "p"},
			Finding: &notify.Finding{Code: code, Severity: "warning"}}
	}
	later := expiringEvent(7 * day)
	later.At = later.At.Add(6 * time.Hour) // the next scan reports the same crossing
	successor := expiringEvent(7 * day)
	successor.Token.ID = 43 // the rotated token has its own warnings
	// GitLab numbers deploy tokens apart from access tokens: one of the
	// same id, resource and name is another token.
	unmanaged := expiringEvent(7 * day)
	unmanaged.TokenRef = ""
	deploy := unmanaged
	deploy.Token.Kind = "deploy_token"
	tests := []struct {
		name   string
		events []notify.Event
		want   int
	}{
		{"same event twice", []notify.Event{expiringEvent(7 * day), expiringEvent(7 * day)}, 1},
		{"same threshold at the next scan", []notify.Event{expiringEvent(7 * day), later}, 1},
		{"new threshold", []notify.Event{expiringEvent(30 * day), expiringEvent(7 * day), expiringEvent(1 * day)}, 3},
		{"successor token", []notify.Event{expiringEvent(7 * day), successor}, 2},
		{"deploy token of an access token's id", []notify.Event{unmanaged, deploy, deploy}, 2},
		{"two rotations", []notify.Event{rotated(1, "rot-a"), rotated(2, "rot-b"), rotated(2, "rot-b")}, 2},
		{"finding codes", []notify.Event{finding("unused"), finding("unused"), finding("long-lived")}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t)
			n := notify.New([]notify.Channel{notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL, HTTPClient: rcv.Client()})},
				notify.NewMemoryDedup(), clock.NewFake(t0), nil, fastRetry())
			for _, e := range tt.events {
				if err := n.Notify(context.Background(), e); err != nil {
					t.Fatal(err)
				}
				// Let each delivery finish, so the next Notify sees it sent.
				eventually(t, "delivery", func() bool { return rcv.delivered() >= 1 })
			}
			closeNow(t, n)
			if got := rcv.delivered(); got != tt.want {
				t.Errorf("messages = %d, want %d", got, tt.want)
			}
		})
	}
}

// Identical events reported while the first is still on its way (a
// receiver down for hours, a scan every hour) make one message and do not
// fill the queue.
func TestNotifierDeduplicatesInFlight(t *testing.T) {
	rcv := newReceiver(t)
	rcv.hang = make(chan struct{})
	n := notify.New([]notify.Channel{notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL, HTTPClient: rcv.Client()})},
		nil, nil, nil, fastRetry(), notify.WithQueueSize(1))
	for range 5 {
		if err := n.Notify(context.Background(), expiringEvent(7*day)); err != nil {
			t.Fatal(err)
		}
	}
	close(rcv.hang)
	closeNow(t, n)
	if got := rcv.delivered(); got != 1 {
		t.Errorf("messages = %d, want 1", got)
	}
}

// A receiver that fails twice gets the message on the third attempt, after
// waiting 1s and then 2s on the injected clock; all attempts carry one
// delivery id.
func TestNotifierRetriesWithBackoff(t *testing.T) {
	rcv := newReceiver(t, 500, 503)
	clk := clock.NewFake(t0)
	n := notify.New([]notify.Channel{notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL, HTTPClient: rcv.Client()})},
		nil, clk, nil, notify.WithRetry(5, time.Second, time.Minute))
	if err := n.Notify(context.Background(), expiringEvent(7*day)); err != nil {
		t.Fatal(err)
	}
	asleep := func() bool { return clk.Waiters() == 1 }
	eventually(t, "first attempt", func() bool { return len(rcv.got()) == 1 && asleep() })
	clk.Advance(999 * time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if got := len(rcv.got()); got != 1 {
		t.Fatalf("retried after %v; want to wait 1s", 999*time.Millisecond)
	}
	clk.Advance(time.Millisecond)
	eventually(t, "second attempt", func() bool { return len(rcv.got()) == 2 && asleep() })
	clk.Advance(time.Second)
	time.Sleep(20 * time.Millisecond)
	if got := len(rcv.got()); got != 2 {
		t.Fatal("second retry came after 1s; want 2s")
	}
	clk.Advance(time.Second)
	eventually(t, "third attempt", func() bool { return len(rcv.got()) == 3 })
	closeNow(t, n)
	got := rcv.got()
	if len(got) != 3 || rcv.delivered() != 1 {
		t.Fatalf("requests = %d, delivered = %d; want 3 and 1", len(got), rcv.delivered())
	}
	id := got[0].header.Get(notify.HeaderDelivery)
	for _, r := range got {
		if r.header.Get(notify.HeaderDelivery) != id {
			t.Errorf("delivery ids differ between attempts: %q, %q", id, r.header.Get(notify.HeaderDelivery))
		}
	}
}

func TestNotifierGivesUp(t *testing.T) {
	tests := []struct {
		name   string
		script []int
		want   int // requests
	}{
		{"after max attempts", []int{500, 500, 500, 500, 500, 500}, 4},
		{"at once on a permanent error", []int{404, 500}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, tt.script...)
			log, logs := newLogger()
			n := notify.New([]notify.Channel{notify.NewWebhook(notify.WebhookConfig{URL: rcv.URL, HTTPClient: rcv.Client()})},
				nil, nil, log, fastRetry())
			if err := n.Notify(context.Background(), expiringEvent(7*day)); err != nil {
				t.Fatal(err)
			}
			closeNow(t, n)
			if got := len(rcv.got()); got != tt.want {
				t.Errorf("requests = %d, want %d", got, tt.want)
			}
			if !strings.Contains(logs.String(), "notification failed") {
				t.Errorf("no failure logged:\n%s", logs)
			}
		})
	}
}

// A channel that hangs or fails neither slows Notify down nor keeps the
// other channels from delivering.
func TestNotifierFailingChannelBlocksNothing(t *testing.T) {
	hanging := newReceiver(t)
	hanging.hang = make(chan struct{})
	defer close(hanging.hang)
	failing := newReceiver(t, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	good := newReceiver(t)
	chans := []notify.Channel{
		notify.NewWebhook(notify.WebhookConfig{URL: hanging.URL, HTTPClient: hanging.Client()}),
		notify.NewWebhook(notify.WebhookConfig{URL: failing.URL, HTTPClient: failing.Client()}),
		notify.NewWebhook(notify.WebhookConfig{URL: good.URL, HTTPClient: good.Client()}),
	}
	n := notify.New(chans, nil, nil, nil, notify.WithRetry(5, 50*time.Millisecond, time.Second))
	start := time.Now()
	for th := 1; th <= 10; th++ {
		if err := n.Notify(context.Background(), expiringEvent(time.Duration(th)*day)); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("10 Notify calls took %v", took)
	}
	eventually(t, "the good channel", func() bool { return good.delivered() == 10 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a hanging channel = %v, want deadline exceeded", err)
	}
	if err := n.Notify(context.Background(), expiringEvent(day)); !errors.Is(err, notify.ErrClosed) {
		t.Errorf("Notify after Close = %v, want ErrClosed", err)
	}
}

// A full queue drops the event for that channel, says so, and returns at once.
func TestNotifierQueueFull(t *testing.T) {
	hanging := newReceiver(t)
	hanging.hang = make(chan struct{})
	defer close(hanging.hang)
	n := notify.New([]notify.Channel{notify.NewWebhook(notify.WebhookConfig{URL: hanging.URL, HTTPClient: hanging.Client()})},
		nil, nil, nil, fastRetry(), notify.WithQueueSize(2))
	var full int
	for th := 1; th <= 5; th++ {
		err := n.Notify(context.Background(), expiringEvent(time.Duration(th)*day))
		if errors.Is(err, notify.ErrQueueFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// One in the worker's hands at most, two queued: at least two dropped.
	if full < 2 {
		t.Errorf("dropped %d events, want at least 2", full)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_ = n.Close(ctx)
}

func TestNotifierKeepsSecretsOutOfPayloadsAndLogs(t *testing.T) {
	const (
		hookKey  = "whsec-SUPERSECRETKEY"
		slackTok = "SLACKSECRETPART"
	)
	hook := newReceiver(t, 500)
	slack := newReceiver(t, 500, 400)
	log, logs := newLogger()
	chans := []notify.Channel{
		notify.NewWebhook(notify.WebhookConfig{URL: hook.URL, Secret: secret.New(hookKey), HTTPClient: hook.Client()}),
		notify.NewSlack(notify.SlackConfig{WebhookURL: secret.New(slack.URL + "/services/T0/B0/" + slackTok), HTTPClient: slack.Client()}),
	}
	n := notify.New(chans, nil, nil, log, fastRetry())
	if err := n.Notify(context.Background(), notify.Event{Kind: notify.KindRotationFailed, TokenRef: "group/g:ci", Detail: "verify: 401"}); err != nil {
		t.Fatal(err)
	}
	closeNow(t, n)
	var seen []string
	for _, r := range append(hook.got(), slack.got()...) {
		seen = append(seen, string(r.body))
	}
	seen = append(seen, logs.String())
	for _, s := range seen {
		if strings.Contains(s, hookKey) || strings.Contains(s, slackTok) {
			t.Errorf("secret leaked into:\n%s", s)
		}
	}
	if !strings.Contains(logs.String(), "HTTP 400") {
		t.Errorf("the failure is not logged:\n%s", logs)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 32 * time.Second}, {7, time.Minute}, {40, time.Minute}}
	for _, tt := range tests {
		if got := notify.Backoff(tt.attempt, time.Second, time.Minute); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestCrossedThreshold(t *testing.T) {
	exp := t0.Add(10 * day)
	tests := []struct {
		now  time.Time
		want time.Duration
		ok   bool
	}{
		{t0.Add(-25 * day), 0, false},          // 35 days left
		{t0.Add(-20 * day), 30 * day, true},    // exactly 30 days left
		{t0, 30 * day, true},                   // 10 days left
		{t0.Add(5 * day), 7 * day, true},       // 5 days left: the 7-day warning only
		{t0.Add(9*day + time.Hour), day, true}, // 23 hours left
		{exp, 0, false},                        // expired: not "expiring"
		{exp.Add(time.Hour), 0, false},
	}
	for _, tt := range tests {
		got, ok := notify.CrossedThreshold(exp, tt.now, []time.Duration{30 * day, 7 * day, day})
		if got != tt.want || ok != tt.ok {
			t.Errorf("CrossedThreshold(%v left) = %v, %v; want %v, %v", exp.Sub(tt.now), got, ok, tt.want, tt.ok)
		}
	}
}

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
