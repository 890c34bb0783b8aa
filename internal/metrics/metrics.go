// Package metrics owns tokenwarden's Prometheus metrics: the collector that
// reads token, finding and scan gauges from the daemon's state at scrape
// time, the counters the daemon and the GitLab clients bump as things happen
// (rotations, API requests), and the /metrics handler over a private
// registry with build_info. Each component returns its own collectors (the
// daemon its state collector and rotation counter); cmd registers them.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source is the daemon's current state. Snapshot is called once per
// scrape, concurrently with whatever the daemon is doing, so it must be safe
// for that and cheap (a copy of the last scan, not a new one).
type Source interface {
	Snapshot() Snapshot
}

// Snapshot is the state the gauges report.
type Snapshot struct {
	Tokens   []TokenState
	Findings []FindingCount
	LastScan time.Time // zero: no scan finished yet (reported as 0)
	// Managing is the token tokenwarden runs with; nil: not checked yet.
	Managing *ManagingState
}

// ManagingState is the managing token as last checked.
type ManagingState struct {
	Name      string
	ExpiresAt *time.Time // nil: never expires (no expiry series)
	Valid     bool       // GitLab accepts it (false: expired or revoked)
}

// TokenState is one token. Nil times are left out of their metric.
type TokenState struct {
	// Kind is the credential's kind (gitlab.Kind…); "" reads as the
	// access-token kind of ResourceType.
	Kind                             string
	ResourceType, ResourcePath, Name string
	Managed                          bool
	ExpiresAt, LastUsedAt            *time.Time
	NextRotation                     *time.Time // managed tokens: RenewAt
}

// FindingCount is how many tokens have a finding of one code and severity.
type FindingCount struct {
	Code, Severity string
	Count          int
}

// Rotation results for Rotated.
const (
	ResultDone   = "done"
	ResultFailed = "failed"
)

// Handler serves, for /metrics, a new private registry (never the
// process-wide default) with tokenwarden_build_info, the Go runtime and
// process collectors, and the collectors the components return (the
// daemon's Metrics, the GitLab clients' Requests). version and revision go
// into tokenwarden_build_info.
func Handler(version, revision string, cs ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "tokenwarden_build_info",
		Help:        "Always 1; the labels say which tokenwarden is running.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	reg.MustRegister(buildInfo, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cs...)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg, // promhttp_metric_handler_errors_total
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// Rotations counts finished rotations (tokenwarden_rotations_total); the
// daemon owns one and returns it among its collectors.
type Rotations struct{ *prometheus.CounterVec }

// NewRotations returns the counter with each of strategies (the daemon's
// config.Strategies) and each result at 0, so that rate() and increase() see
// the first rotation rather than a series appearing at 1.
func NewRotations(strategies ...string) Rotations {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tokenwarden_rotations_total",
		Help: "Rotations finished since the daemon started, by strategy and result (done, failed).",
	}, []string{"strategy", "result"})
	for _, s := range strategies {
		for _, r := range []string{ResultDone, ResultFailed} {
			v.WithLabelValues(s, r)
		}
	}
	return Rotations{v}
}

// Rotated counts one finished rotation: strategy as journaled,
// result ResultDone or ResultFailed. The count starts at 0 with each process.
func (r Rotations) Rotated(strategy, result string) {
	r.WithLabelValues(strategy, result).Inc()
}

// Requests counts GitLab API responses (tokenwarden_gitlab_requests_total).
type Requests struct{ *prometheus.CounterVec }

// NewRequests returns the counter, empty.
func NewRequests() Requests {
	return Requests{prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tokenwarden_gitlab_requests_total",
		Help: "HTTP responses from the GitLab API, retries included, by method and status code.",
	}, []string{"method", "code"})}
}

// Observe counts one GitLab API response. Its signature is
// gitlab.Config.OnResponse's: pass r.Observe there.
func (r Requests) Observe(method string, code int) {
	r.WithLabelValues(normalMethod(method), strconv.Itoa(code)).Inc()
}

// normalMethod keeps the method label to the few values HTTP has.
func normalMethod(method string) string {
	switch m := strings.ToUpper(method); m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "OTHER"
}
