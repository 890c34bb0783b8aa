package sim

import (
	"math/rand/v2"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// Faults injects failures into API requests (not into /-/sim/ requests):
//
//   - SetLatency(d): extra delay before every request;
//   - FailRate(p): answer a fraction p of requests with 500;
//   - Throttle(n): answer the next n requests with 429 "Retry later";
//   - ResetConnection(method, path, n): close the connection, without doing
//     anything, on the next n requests matching method and the path regexp;
//   - DropAfterCommit(method, path, n): perform the next n matching requests
//     in full, then close the connection without a response — the "crashed
//     after commit, response lost" case;
//   - HangAfterCommit(method, path, n): perform the next n matching requests
//     in full, then send nothing until the client gives up (closes the
//     connection) — a GitLab that hangs after doing the work;
//   - Clear(): remove every fault.
//
// method "" or "*" matches any method. A path pattern that does not compile
// panics, like regexp.MustCompile: fault setups are test code.
type Faults struct {
	mu       sync.Mutex
	latency  time.Duration
	failRate float64
	throttle int
	rules    []*faultRule
	rng      *rand.Rand
}

type faultRule struct {
	drop   bool // commit, then drop; otherwise reset before handling
	hang   bool // commit, then never answer
	method string
	path   *regexp.Regexp
	left   int
}

type faultDecision struct {
	latency                           time.Duration
	reset, drop, hang, throttle, fail bool
}

func newFaults(seed int64) *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(uint64(seed), 0xfa17))}
}

func (f *Faults) SetLatency(d time.Duration) { f.mu.Lock(); f.latency = d; f.mu.Unlock() }
func (f *Faults) FailRate(p float64)         { f.mu.Lock(); f.failRate = p; f.mu.Unlock() }
func (f *Faults) Throttle(n int)             { f.mu.Lock(); f.throttle = n; f.mu.Unlock() }

func (f *Faults) ResetConnection(method, pathRE string, n int) { f.add(false, method, pathRE, n) }

// Reset is ResetConnection.
func (f *Faults) Reset(method, pathRE string, n int)           { f.ResetConnection(method, pathRE, n) }
func (f *Faults) DropAfterCommit(method, pathRE string, n int) { f.add(true, method, pathRE, n) }

// HangAfterCommit performs the next n matching requests, then holds their
// answers until the client closes the connection.
func (f *Faults) HangAfterCommit(method, pathRE string, n int) {
	f.addRule(&faultRule{hang: true, method: method, path: regexp.MustCompile(pathRE), left: n})
}

func (f *Faults) add(drop bool, method, pathRE string, n int) {
	f.addRule(&faultRule{drop: drop, method: method, path: regexp.MustCompile(pathRE), left: n})
}

func (f *Faults) addRule(r *faultRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
}

// Clear removes every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency, f.failRate, f.throttle, f.rules = 0, 0, 0, nil
}

// decide consumes the faults that apply to r.
func (f *Faults) decide(r *http.Request) faultDecision {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := faultDecision{latency: f.latency}
	for _, rule := range f.rules {
		if rule.left > 0 && (rule.method == "" || rule.method == "*" || rule.method == r.Method) && rule.path.MatchString(r.URL.Path) {
			rule.left--
			switch {
			case rule.hang:
				d.hang = true
			case rule.drop:
				d.drop = true
			default:
				d.reset = true
			}
			return d
		}
	}
	if f.throttle > 0 {
		f.throttle--
		d.throttle = true
		return d
	}
	if f.failRate > 0 && f.rng.Float64() < f.failRate {
		d.fail = true
	}
	return d
}
