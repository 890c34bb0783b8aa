package web

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// TestSourceTableEvictsLeastRecentlyUsed: a full per-source table drops the
// source idle the longest, never everything: a guesser that keeps going
// stays limited however many other addresses pass by.
func TestSourceTableEvictsLeastRecentlyUsed(t *testing.T) {
	l := newLoginLimits(clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), time.Hour)
	l.global = rate.NewLimiter(rate.Inf, 1<<30) // this test is about the per-source table
	l.sources = newLRU[*rate.Limiter](10)
	for range loginBurst {
		if v := l.attempt("attacker", false); v != failed {
			t.Fatalf("attacker's early guesses: %v, want failed", v)
		}
	}
	for i := range 100 {
		l.attempt(fmt.Sprintf("spray-%d", i), false)
		if v := l.attempt("attacker", false); v != limited {
			t.Fatalf("after %d sprayed sources the attacker may guess again", i+1)
		}
	}
	if n := l.sources.len(); n != 10 {
		t.Errorf("the table holds %d sources, want its bound 10", n)
	}
	if _, ok := l.sources.get("spray-0"); ok {
		t.Error("the least recently used source was kept")
	}
	if _, ok := l.sources.get("spray-99"); !ok {
		t.Error("the most recent source was dropped")
	}
}

func TestSource(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("::ffff:172.16.0.0/108")}
	tests := []struct {
		name, peer, xff, want string
	}{
		{"ipv4 peer", "192.0.2.1:1", "", "192.0.2.1"},
		{"ipv6 peer grouped by /64", "[2001:db8:a:b:c::1]:1", "", "2001:db8:a:b::/64"},
		{"ipv4-mapped ipv6", "[::ffff:192.0.2.1]:1", "", "192.0.2.1"},
		{"untrusted peer: header ignored", "192.0.2.1:1", "198.51.100.1", "192.0.2.1"},
		{"trusted peer, no header", "10.1.1.1:1", "", "10.1.1.1"},
		{"trusted peer", "10.1.1.1:1", "198.51.100.1", "198.51.100.1"},
		{"rightmost untrusted", "10.1.1.1:1", "203.0.113.9, 198.51.100.1, 10.2.2.2", "198.51.100.1"},
		{"several headers", "10.1.1.1:1", "203.0.113.9|198.51.100.1", "198.51.100.1"},
		{"with port", "10.1.1.1:1", "198.51.100.1:443", "198.51.100.1"},
		{"ipv6 client via proxy", "[fd00::1]:1", "[2001:db8:1:2::77]:443", "2001:db8:1:2::/64"},
		{"all trusted: leftmost", "10.1.1.1:1", "10.3.3.3, 10.2.2.2", "10.3.3.3"},
		{"ipv4-mapped trusted network", "172.16.5.5:1", "198.51.100.1", "198.51.100.1"},
		{"garbage: the proxy that wrote it", "10.1.1.1:1", "198.51.100.1, unknown", "10.1.1.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range splitBar(tc.xff) {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := source(r, unmapPrefixes(trusted)); got != tc.want {
				t.Errorf("source = %q, want %q", got, tc.want)
			}
		})
	}
}

func splitBar(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '|' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
