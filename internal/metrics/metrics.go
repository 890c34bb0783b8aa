// Package metrics owns tokenwarden's Prometheus metrics: a private registry
// (never the process-wide default) whose token, finding and scan metrics are
// read from the daemon's state at scrape time, plus the counters the daemon
// and the GitLab client bump as things happen (rotations, API requests) and
// build_info.
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

// Metrics is the registry and the counters the daemon increments.
type Metrics struct {
	reg       *prometheus.Registry
	rotations *prometheus.CounterVec
	requests  *prometheus.CounterVec
	handler   http.Handler
}

// New registers tokenwarden's metrics (and the Go runtime and process
// collectors) on a new private registry. version and revision go into
// tokenwarden_build_info.
func New(src Source, version, revision string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwarden_rotations_total",
			Help: "Rotations finished since the daemon started, by strategy and result (done, failed).",
		}, []string{"strategy", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwarden_gitlab_requests_total",
			Help: "HTTP responses from the GitLab API, retries included, by method and status code.",
		}, []string{"method", "code"}),
	}
	// Every strategy and result from the start, so rate() and increase()
	// see the first rotation rather than a series appearing at 1.
	for _, s := range []string{"overlap", "rotate", "self"} {
		for _, r := range []string{ResultDone, ResultFailed} {
			m.rotations.WithLabelValues(s, r)
		}
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "tokenwarden_build_info",
		Help:        "Always 1; the labels say which tokenwarden is running.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	reg.MustRegister(
		newStateCollector(src),
		m.rotations, m.requests, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg, // promhttp_metric_handler_errors_total
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	return m
}

// Handler serves the registry for /metrics.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the private registry, for callers that add their own
// collectors or gather in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Rotated counts one finished rotation: strategy overlap|rotate|self,
// result ResultDone or ResultFailed. The daemon calls it when the engine
// reports a final outcome; the count starts at 0 with each process.
func (m *Metrics) Rotated(strategy, result string) {
	m.rotations.WithLabelValues(strategy, result).Inc()
}

// Observe counts one GitLab API response. Its signature is
// gitlab.Config.OnResponse's: pass m.Observe there.
func (m *Metrics) Observe(method string, code int) {
	m.requests.WithLabelValues(normalMethod(method), strconv.Itoa(code)).Inc()
}

// normalMethod keeps the method label to the few values HTTP has.
func normalMethod(method string) string {
	switch m := strings.ToUpper(method); m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "OTHER"
}
