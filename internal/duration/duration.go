// Package duration owns the human duration syntax of tokenwarden's flags and
// config file: Go's units (ns, us, ms, s, m, h) plus d (24h) and w (7d), so
// that token lifetimes read the way operators say them ("90d", "2w", "1d12h").
package duration

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Day and Week are the calendar-free units tokenwarden adds to Go's.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

var units = map[string]time.Duration{
	"ns": time.Nanosecond,
	"us": time.Microsecond,
	"µs": time.Microsecond,
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  Day,
	"w":  Week,
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("invalid duration")

// Parse parses a sequence of decimal numbers, each with a unit, such as
// "90d", "2w", "1d12h", "1.5h" or "30m". "0" alone is allowed. A leading
// sign is accepted as in time.ParseDuration.
func Parse(s string) (time.Duration, error) {
	orig := s
	fail := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("%w %q: %s (use a number with a unit: s, m, h, d, w — e.g. 90d)", ErrSyntax, orig, why)
	}
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return fail("empty")
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')) {
			i++
		}
		if i == 0 {
			return fail("expected a number")
		}
		num, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return fail("bad number " + strconv.Quote(s[:i]))
		}
		s = s[i:]
		j := 0
		for j < len(s) && s[j] != '.' && (s[j] < '0' || s[j] > '9') {
			j++
		}
		if j == 0 {
			return fail("missing unit")
		}
		unit, ok := units[s[:j]]
		if !ok {
			return fail("unknown unit " + strconv.Quote(s[:j]))
		}
		s = s[j:]
		total += num * float64(unit)
		if total > math.MaxInt64 {
			return fail("too large")
		}
	}
	d := time.Duration(math.Round(total))
	if neg {
		d = -d
	}
	return d, nil
}

// Format renders d in the units Parse reads, largest first, using days but
// not weeks ("90d", "1d12h", "1h30m", "45s"). Sub-second parts fall back to
// time.Duration's own notation.
func Format(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	if d%time.Second != 0 {
		if d < Day {
			b.WriteString(d.String())
			return b.String()
		}
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", Day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	if d > 0 {
		b.WriteString(d.String())
	}
	return b.String()
}
