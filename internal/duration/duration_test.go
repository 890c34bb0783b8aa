package duration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "30d", want: 30 * Day},
		{in: "2w", want: 14 * Day},
		{in: "1w3d", want: 10 * Day},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "0", want: 0},
		{in: " 7d ", want: 7 * Day},
		{in: "", err: true},
		{in: "-1d", err: true},
		{in: "d", err: true},
		{in: "10", err: true},
		{in: "3y", err: true},
		{in: "1d2x", err: true},
		{in: "99999999999999w", err: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Parse(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFormatRoundTrips(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{14 * Day, "2w"},
		{30 * Day, "30d"},
		{36 * time.Hour, "1d12h"},
		{90 * time.Minute, "1h30m"},
		{Day + 90*time.Minute, "1d1h30m"},
		{2 * time.Hour, "2h"},
		{45 * time.Second, "45s"},
		{50 * time.Second, "50s"},
		{10 * time.Minute, "10m"},
		{Day + 10*time.Second, "1d10s"},
	}
	for _, tt := range tests {
		got := Format(tt.in)
		if got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := Parse(got)
		if err != nil || back != tt.in {
			t.Errorf("Parse(Format(%v)) = %v, %v", tt.in, back, err)
		}
	}
}
