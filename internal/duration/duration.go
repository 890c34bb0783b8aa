// Package duration owns the human duration syntax used in tokenwarden's flags
// and config: Go durations plus days and weeks ("90d", "2w", "36h", "1w2d").
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	// Day is 24 hours; tokenwarden's days are calendar-agnostic.
	Day = 24 * time.Hour
	// Week is 7 days.
	Week = 7 * Day
)

// Parse reads a duration such as "30d", "2w", "1w3d", "36h", "90m" or "1d12h".
// Units: w, d, h, m, s, ms (and anything else time.ParseDuration accepts).
// Negative durations are rejected: every tokenwarden duration is a span.
func Parse(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", s)
	}
	if strings.HasPrefix(in, "-") {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	in = strings.TrimPrefix(in, "+")
	if in == "0" {
		return 0, nil
	}
	var total time.Duration
	rest := in
	// Peel off leading week/day components; hand the remainder to time.ParseDuration.
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		if i == 0 || i == len(rest) {
			break
		}
		unit := rest[i]
		if unit != 'd' && unit != 'w' {
			break
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %v", s, err)
		}
		step := Day
		if unit == 'w' {
			step = Week
		}
		if n > int64((1<<63-1)/step) {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		total += time.Duration(n) * step
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 30d, 2w, 36h)", s)
		}
		total += d
	}
	if total < 0 {
		return 0, fmt.Errorf("invalid duration %q: too large", s)
	}
	return total, nil
}

// Format prints d in the largest whole units Parse reads back: "2w", "30d",
// "1d12h", "36m". Zero is "0s".
func Format(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	neg := d < 0
	if neg {
		d = -d
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if d%Week == 0 {
		fmt.Fprintf(&b, "%dw", d/Week)
		return b.String()
	}
	if days := d / Day; days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * Day
	}
	if d > 0 {
		s := d.String()
		// time.Duration prints "12h0m0s"; drop the zero tails.
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		b.WriteString(s)
	}
	return b.String()
}
