package duration

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"90d", 90 * Day},
		{"2w", 14 * Day},
		{"1d12h", 36 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"45s", 45 * time.Second},
		{"1.5h", 90 * time.Minute},
		{"0.5d", 12 * time.Hour},
		{"500ms", 500 * time.Millisecond},
		{"1w2d3h", 9*Day + 3*time.Hour},
		{"365d", 365 * Day},
		{"-1h", -time.Hour},
		{" 7d ", 7 * Day},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "d", "90", "90x", "1y", "1..2h", "h1", "99999999999w", "-"} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{90 * Day, "90d"},
		{14 * Day, "14d"},
		{36 * time.Hour, "1d12h"},
		{90 * time.Minute, "1h30m"},
		{45 * time.Second, "45s"},
		{-time.Hour, "-1h"},
		{500 * time.Millisecond, "500ms"},
		{Day + 500*time.Millisecond, "1d500ms"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 90 * Day, 36 * time.Hour, 30*Day + 5*time.Minute + 7*time.Second, 250 * time.Millisecond} {
		got, err := Parse(Format(d))
		if err != nil || got != d {
			t.Errorf("Parse(Format(%v)) = %v, %v", d, got, err)
		}
	}
}
