package web

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// Login limits. Only failed attempts spend from them.
//
//   - Per source (an IPv4 address, or an IPv6 /64: one host usually gets a
//     whole /64): a burst of 5, then one a minute.
//   - Globally: a burst of 100, then one every 10 seconds, so that spraying
//     from many addresses cannot buy more guesses than that.
//
// A source over its own budget is refused whatever it sends, the right
// password included: otherwise the limit would not stop a guesser. When the
// global budget is spent, only sources that presented the right password
// within the last goodFor (the operator's browser, a Prometheus scraper) are
// still heard; everyone else is refused. Open sessions are not affected.
const (
	loginBurst  = 5
	loginEvery  = time.Minute
	globalBurst = 100
	globalEvery = 10 * time.Second
	// maxSources bounds the per-source table; the least recently used entry
	// goes first. Filling it takes over a day at the global rate, so an
	// entry that is evicted has long refilled.
	maxSources = 10000
	// maxGood bounds the table of sources that logged in.
	maxGood = 1000
)

type verdict int

const (
	allowed verdict = iota // the right password, accepted
	failed                 // a wrong password, counted
	limited                // refused unchecked: over a budget
)

// loginLimits holds the per-source and global failure budgets.
type loginLimits struct {
	clock   clock.Clock
	goodFor time.Duration

	mu      sync.Mutex
	global  *rate.Limiter
	sources *lru[*rate.Limiter]
	good    *lru[time.Time] // source → until when it counts as known
}

func newLoginLimits(clk clock.Clock, goodFor time.Duration) *loginLimits {
	return &loginLimits{
		clock: clk, goodFor: goodFor,
		global:  rate.NewLimiter(rate.Every(globalEvery), globalBurst),
		sources: newLRU[*rate.Limiter](maxSources),
		good:    newLRU[time.Time](maxGood),
	}
}

// attempt decides one login attempt from src, whose password was (correct)
// or was not the operator's. The password is compared before, always, so
// that the time taken does not say which budget refused it.
func (l *loginLimits) attempt(src string, correct bool) verdict {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, _ := l.sources.get(src)
	if lim != nil && lim.TokensAt(now) < 1 {
		return limited
	}
	until, known := l.good.get(src)
	known = known && now.Before(until)
	if !known && l.global.TokensAt(now) < 1 {
		return limited
	}
	if correct {
		l.good.put(src, now.Add(l.goodFor))
		return allowed
	}
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
		l.sources.put(src, lim)
	}
	lim.AllowN(now, 1)
	l.global.AllowN(now, 1)
	return failed
}

// lru is a map bounded to max entries that drops the least recently used.
type lru[V any] struct {
	max   int
	order *list.List // front: most recently used; values are *lruEntry[V]
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](capacity int) *lru[V] {
	return &lru[V]{max: capacity, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru[V]) get(k string) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

func (c *lru[V]) put(k string, v V) {
	if e, ok := c.items[k]; ok {
		e.Value.(*lruEntry[V]).val = v
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry[V]{key: k, val: v})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*lruEntry[V]).key)
	}
}

func (c *lru[V]) len() int { return c.order.Len() }

// source names the client of r for the login limits: the peer's address, or
// when the peer is one of the trusted proxies, the rightmost address in
// X-Forwarded-For that no trusted proxy added. IPv6 addresses are grouped
// by /64.
func source(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host // not an IP address (a test, a unix socket): as is
	}
	client := peer.Unmap().WithZone("")
	if isTrusted(client, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, ok := parseHop(hops[i])
			if !ok {
				break // written by a trusted proxy, yet not an address: keep that proxy
			}
			client = a
			if !isTrusted(a, trusted) {
				break
			}
		}
	}
	if client.Is6() {
		p, _ := client.Prefix(64)
		return p.String()
	}
	return client.String()
}

// unmapPrefixes writes IPv4-mapped IPv6 networks (::ffff:10.0.0.0/104) as
// the IPv4 networks they are: source compares unmapped addresses.
func unmapPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one X-Forwarded-For entry: an address, maybe with a port
// ("192.0.2.1:443", "[2001:db8::1]:443").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}
