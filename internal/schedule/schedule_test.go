package schedule

import (
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr(t time.Time) *time.Time { return &t }

func TestRenewAt(t *testing.T) {
	tests := []struct {
		name    string
		expires *time.Time
		policy  Policy
		want    time.Time
		wantOK  bool
	}{
		{
			name:    "default is one third of the configured lifetime",
			expires: ptr(ts("2026-04-01T00:00:00Z")),
			policy:  Policy{Lifetime: 90 * day},
			want:    ts("2026-03-02T00:00:00Z"),
			wantOK:  true,
		},
		{
			name:    "rotate_before is honoured",
			expires: ptr(ts("2026-04-01T00:00:00Z")),
			policy:  Policy{Lifetime: 90 * day, RotateBefore: 7 * day},
			want:    ts("2026-03-25T00:00:00Z"),
			wantOK:  true,
		},
		{
			// The token was created 7 days before it expires (GitLab's
			// rotate default): the configured window still counts back from
			// its expiry, never a third of its actual lifetime.
			name:    "rotate_before longer than the actual lifetime is kept",
			expires: ptr(ts("2026-01-08T00:00:00Z")),
			policy:  Policy{Lifetime: 90 * day, RotateBefore: 30 * day},
			want:    ts("2025-12-09T00:00:00Z"),
			wantOK:  true,
		},
		{
			name:    "the critical threshold is a floor for the window",
			expires: ptr(ts("2026-01-15T00:00:00Z")),
			policy:  Policy{Lifetime: 9 * day, Critical: 7 * day},
			want:    ts("2026-01-08T00:00:00Z"),
			wantOK:  true,
		},
		{
			name:    "truncated to the second",
			expires: ptr(ts("2026-01-02T00:00:00Z")),
			policy:  Policy{Lifetime: day + 500*time.Millisecond},
			want:    ts("2026-01-01T15:59:59Z"), // 15:59:59.833 truncated
			wantOK:  true,
		},
		{
			name:    "never expires",
			expires: nil,
			policy:  Policy{Lifetime: 90 * day},
			wantOK:  false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RenewAt(tt.expires, tt.policy)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("RenewAt = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestExpiresAtFor(t *testing.T) {
	tests := []struct {
		name     string
		now      time.Time
		lifetime time.Duration
		want     time.Time
	}{
		{"90 days, up to the next midnight", ts("2026-01-01T15:04:05Z"), 90 * day, ts("2026-04-02T00:00:00Z")},
		{"exactly midnight stays", ts("2026-01-01T00:00:00Z"), 90 * day, ts("2026-04-01T00:00:00Z")},
		{"365 days is capped at today+365", ts("2026-01-01T15:04:05Z"), 365 * day, ts("2027-01-01T00:00:00Z")},
		{"capped at today+365", ts("2026-01-01T23:59:59Z"), 400 * day, ts("2027-01-01T00:00:00Z")},
		{"a day at 23:00 lives a full day", ts("2026-01-01T23:00:00Z"), day, ts("2026-01-03T00:00:00Z")},
		{"less than a day still gives tomorrow", ts("2026-01-01T01:00:00Z"), time.Hour, ts("2026-01-02T00:00:00Z")},
		{"date is taken in UTC", ts("2026-01-01T23:30:00-05:00"), day, ts("2026-01-04T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExpiresAtFor(tt.now, tt.lifetime)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ExpiresAtFor = %v, want %v", got, tt.want)
			}
			if tt.lifetime <= 364*day && got.Sub(tt.now) < tt.lifetime {
				t.Errorf("a token minted at %v with lifetime %v expires %v: shorter than its lifetime", tt.now, tt.lifetime, got)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	now := ts("2026-12-01T12:00:00Z")
	p30 := Policy{Lifetime: 30 * day, Critical: 7 * day} // window: 10 days
	live := func(expires string) *Live {
		return &Live{ID: 7, CreatedAt: ts("2026-11-01T00:00:00Z"), ExpiresAt: ptr(ts(expires))}
	}
	holds := []SinkFact{{Name: "file a", Holding: Holds}, {Name: "variable B", Holding: Holds}}
	tests := []struct {
		name      string
		f         Facts
		p         Policy
		want      Action
		reason    string // substring
		warning   string // substring; "" → no warning
		note      string // substring
		wantRenew string
	}{
		{
			name: "no live token: create",
			f:    Facts{},
			p:    p30, want: Create, reason: "no active token",
		},
		{
			name: "healthy and delivered: none until the window",
			f:    Facts{Live: live("2026-12-25T00:00:00Z"), SecretKnown: true, Verified: true, Sinks: holds},
			p:    p30, want: None, reason: "next rotation 2026-12-15T00:00:00Z", wantRenew: "2026-12-15T00:00:00Z",
		},
		{
			// The case: expires in 5 days under lifetime 30d
			// (rotate_before defaults to 10d). Was "ok, next rotation in 3 days".
			name: "adopted token inside the configured window is due now",
			f:    Facts{Live: live("2026-12-06T00:00:00Z"), SecretKnown: true, Verified: true, Sinks: holds},
			p:    p30, want: Rotate, reason: "due for renewal since 2026-11-26T00:00:00Z (10d before expiry)",
		},
		{
			name: "created today, expires tomorrow: due now",
			f:    Facts{Live: &Live{ID: 3, CreatedAt: now.Add(-time.Hour), ExpiresAt: ptr(ts("2026-12-02T00:00:00Z"))}, SecretKnown: true, Verified: true},
			p:    p30, want: Rotate,
		},
		{
			name: "explicit rotate_before longer than the actual lifetime is not replaced",
			f:    Facts{Live: live("2026-12-10T00:00:00Z"), SecretKnown: true, Verified: true},
			p:    Policy{Lifetime: 90 * day, RotateBefore: 10 * day}, want: Rotate, reason: "(10d before expiry)",
		},
		{
			name: "never expires: rotate",
			f:    Facts{Live: &Live{ID: 9}, SecretKnown: true, Verified: true},
			p:    p30, want: Rotate, reason: "never expires",
		},
		{
			name: "adopted, sinks configured, secret unknown: adopt",
			f:    Facts{Live: live("2026-12-25T00:00:00Z"), Sinks: []SinkFact{{Name: "file a", Holding: Missing}}},
			p:    p30, want: Adopt, reason: "file a holds no secret from tokenwarden",
		},
		{
			name: "adopted with adopt: wait: none, with a note",
			f:    Facts{Live: live("2026-12-25T00:00:00Z"), AdoptWait: true, Sinks: []SinkFact{{Name: "file a", Holding: Missing}}},
			p:    p30, want: None, note: "adopt: wait",
		},
		{
			name: "adopted without sinks: nothing to deliver",
			f:    Facts{Live: live("2026-12-25T00:00:00Z")},
			p:    p30, want: None,
		},
		{
			name: "a sink added later, secret known: deliver",
			f: Facts{Live: live("2026-12-25T00:00:00Z"), SecretKnown: true, Verified: true,
				Sinks: []SinkFact{{Name: "file a", Holding: Holds}, {Name: "file b", Holding: Missing}}},
			p: p30, want: Deliver, reason: "file b holds no secret from tokenwarden",
		},
		{
			name: "a sink changed by someone else: deliver",
			f: Facts{Live: live("2026-12-25T00:00:00Z"), SecretKnown: true, Verified: true,
				Sinks: []SinkFact{{Name: "file a", Holding: Changed}}},
			p: p30, want: Deliver, reason: "file a holds something else",
		},
		{
			name: "due wins over deliver",
			f: Facts{Live: live("2026-12-06T00:00:00Z"), SecretKnown: true,
				Sinks: []SinkFact{{Name: "file a", Holding: Missing}}},
			p: p30, want: Rotate,
		},
		{
			name: "failure no longer counts once the live token is healthy",
			f: Facts{Live: live("2026-12-25T00:00:00Z"), SecretKnown: true, Verified: true, Sinks: holds,
				LastFailure: &Failure{RotationID: "rot-1", Error: "deliver to file a: disk full"}},
			p: p30, want: None, note: "nothing to fix",
		},
		{
			name: "failure counts while a sink lacks the secret",
			f: Facts{Live: live("2026-12-25T00:00:00Z"), SecretKnown: true, Verified: true,
				Sinks:       []SinkFact{{Name: "file a", Holding: Missing}},
				LastFailure: &Failure{RotationID: "rot-1", Error: "boom"}},
			p: p30, want: Deliver, warning: "last rotation rot-1 failed: boom; file a holds no secret from tokenwarden; fix the cause, then run `tokenwarden rotate project/x:y`",
		},
		{
			name: "failure counts while the live token is not verified",
			f: Facts{Live: live("2026-12-25T00:00:00Z"), SecretKnown: true, Sinks: holds,
				LastFailure: &Failure{RotationID: "rot-1", Error: "verify: 403"}},
			p: p30, want: None, warning: "has not passed verification",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Now = now
			d := Decide(tt.f, tt.p, "project/x:y")
			if d.Action != tt.want {
				t.Fatalf("Action = %s (%s), want %s", d.Action, d.Reason, tt.want)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", d.Reason, tt.reason)
			}
			if (tt.warning == "") != (d.Warning == "") || !strings.Contains(d.Warning, tt.warning) {
				t.Errorf("Warning = %q, want %q", d.Warning, tt.warning)
			}
			if !strings.Contains(d.Note, tt.note) {
				t.Errorf("Note = %q, want it to contain %q", d.Note, tt.note)
			}
			if tt.wantRenew != "" && (d.RenewAt == nil || !d.RenewAt.Equal(ts(tt.wantRenew))) {
				t.Errorf("RenewAt = %v, want %s", d.RenewAt, tt.wantRenew)
			}
		})
	}
}

func TestWindowText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * day:                "30d",
		496 * time.Hour:         "20d16h",
		8 * time.Hour:           "8h",
		90 * time.Minute:        "1h30m",
		day + 90*time.Minute:    "1d1h30m",
		10*day + 30*time.Second: "10d1m", // rounded to the minute
	} {
		if got := days(d); got != want {
			t.Errorf("days(%v) = %q, want %q", d, got, want)
		}
	}
}
