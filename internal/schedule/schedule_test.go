package schedule

import (
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
		created time.Time
		expires *time.Time
		policy  Policy
		want    time.Time
		wantOK  bool
	}{
		{
			name:    "default is one third of the lifetime left",
			created: ts("2026-01-01T00:00:00Z"),
			expires: ptr(ts("2026-04-01T00:00:00Z")), // 90 days
			policy:  Policy{Lifetime: 90 * day},
			want:    ts("2026-03-02T00:00:00Z"),
			wantOK:  true,
		},
		{
			name:    "rotate_before is honoured",
			created: ts("2026-01-01T00:00:00Z"),
			expires: ptr(ts("2026-04-01T00:00:00Z")),
			policy:  Policy{Lifetime: 90 * day, RotateBefore: 7 * day},
			want:    ts("2026-03-25T00:00:00Z"),
			wantOK:  true,
		},
		{
			name:    "rotate_before equal to the actual lifetime falls back to one third",
			created: ts("2026-01-01T00:00:00Z"),
			expires: ptr(ts("2026-01-31T00:00:00Z")), // 30 days
			policy:  Policy{RotateBefore: 30 * day},
			want:    ts("2026-01-21T00:00:00Z"),
			wantOK:  true,
		},
		{
			name:    "rotate_before longer than an adopted short-lived token falls back to one third",
			created: ts("2026-01-01T00:00:00Z"),
			expires: ptr(ts("2026-01-08T00:00:00Z")), // GitLab's 7-day rotate default
			policy:  Policy{Lifetime: 90 * day, RotateBefore: 30 * day},
			want:    ts("2026-01-05T16:00:00Z"),
			wantOK:  true,
		},
		{
			name:    "truncated to the second",
			created: ts("2026-01-01T10:20:30.999Z"),
			expires: ptr(ts("2026-01-02T00:00:00Z")),
			policy:  Policy{},
			// lifetime 13h39m29.001s, a third is 4h33m9.667s
			want:   ts("2026-01-01T19:26:50Z"),
			wantOK: true,
		},
		{
			name:    "never expires",
			created: ts("2026-01-01T00:00:00Z"),
			expires: nil,
			policy:  Policy{Lifetime: 90 * day},
			wantOK:  false,
		},
		{
			name:    "expiry before creation (clock skew) renews at expiry",
			created: ts("2026-02-01T00:00:00Z"),
			expires: ptr(ts("2026-01-01T00:00:00Z")),
			policy:  Policy{},
			want:    ts("2026-01-01T00:00:00Z"),
			wantOK:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RenewAt(tt.created, tt.expires, tt.policy)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("RenewAt = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestDue(t *testing.T) {
	created := ts("2026-01-01T00:00:00Z")
	expires := ptr(ts("2026-04-01T00:00:00Z"))
	p := Policy{Lifetime: 90 * day, RotateBefore: 30 * day} // renew at 2026-03-02
	tests := []struct {
		name    string
		now     time.Time
		expires *time.Time
		want    bool
	}{
		{"fresh", ts("2026-01-02T00:00:00Z"), expires, false},
		{"one second before renew time", ts("2026-03-01T23:59:59Z"), expires, false},
		{"exactly at renew time", ts("2026-03-02T00:00:00Z"), expires, true},
		{"already expired", ts("2026-05-01T00:00:00Z"), expires, true},
		{"never expires, younger than lifetime", ts("2026-03-01T00:00:00Z"), nil, false},
		{"never expires, older than lifetime", ts("2026-04-01T00:00:00Z"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Due(tt.now, created, tt.expires, p); got != tt.want {
				t.Errorf("Due = %v, want %v", got, tt.want)
			}
		})
	}
	if Due(ts("2030-01-01T00:00:00Z"), created, nil, Policy{}) {
		t.Error("a never-expiring token without a lifetime policy must not be due")
	}
}

func TestExpiresAtFor(t *testing.T) {
	tests := []struct {
		name     string
		now      time.Time
		lifetime time.Duration
		want     time.Time
	}{
		{"90 days, truncated to the date", ts("2026-01-01T15:04:05Z"), 90 * day, ts("2026-04-01T00:00:00Z")},
		{"365 days is allowed", ts("2026-01-01T15:04:05Z"), 365 * day, ts("2027-01-01T00:00:00Z")},
		{"capped at today+365", ts("2026-01-01T23:59:59Z"), 400 * day, ts("2027-01-01T00:00:00Z")},
		{"hours that cross midnight cap to today+365", ts("2026-01-01T23:00:00Z"), 365*day + 2*time.Hour, ts("2027-01-01T00:00:00Z")},
		{"less than a day still gives tomorrow", ts("2026-01-01T01:00:00Z"), time.Hour, ts("2026-01-02T00:00:00Z")},
		{"date is taken in UTC", ts("2026-01-01T23:30:00-05:00"), day, ts("2026-01-03T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpiresAtFor(tt.now, tt.lifetime); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ExpiresAtFor = %v, want %v", got, tt.want)
			}
		})
	}
}
