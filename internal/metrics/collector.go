package metrics

import (
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var tokenLabels = []string{"resource_type", "resource_path", "token_name", "managed", "kind"}

// kindOf is t's kind label: its Kind, or the access-token kind of its
// resource type (what every token was before deploy, trigger and runner
// tokens).
func kindOf(t TokenState) string {
	switch {
	case t.Kind != "":
		return t.Kind
	case t.ResourceType == "group":
		return "group_access_token"
	case t.ResourceType == "project":
		return "project_access_token"
	}
	return "personal_access_token"
}

// NewStateCollector returns the collector of the gauges read from src at
// every scrape.
func NewStateCollector(src Source) prometheus.Collector { return newStateCollector(src) }

// stateCollector turns a Snapshot into gauges at scrape time, the way
// cert-manager's certificate collector reads its listers: nothing is stored
// between scrapes, so a token that disappears from the state disappears
// from /metrics.
type stateCollector struct {
	src                          Source
	expiry, lastUsed, nextRotate *prometheus.Desc
	findings, lastScan           *prometheus.Desc
	managingExpiry, managingOK   *prometheus.Desc
}

func newStateCollector(src Source) *stateCollector {
	return &stateCollector{
		src: src,
		expiry: prometheus.NewDesc("tokenwarden_token_expiry_timestamp_seconds",
			"When the token expires (Unix time), by kind (group_access_token, deploy_token, …). Tokens without an expiry date have no series.", tokenLabels, nil),
		lastUsed: prometheus.NewDesc("tokenwarden_token_last_used_timestamp_seconds",
			"When GitLab last saw the token used (Unix time). Never-used tokens have no series.", tokenLabels, nil),
		nextRotate: prometheus.NewDesc("tokenwarden_token_next_rotation_timestamp_seconds",
			"When tokenwarden will rotate the managed token next (Unix time).", tokenLabels, nil),
		findings: prometheus.NewDesc("tokenwarden_findings",
			"Findings of the last scan, by code and severity.", []string{"code", "severity"}, nil),
		lastScan: prometheus.NewDesc("tokenwarden_last_scan_timestamp_seconds",
			"When the last scan finished (Unix time); 0 before the first.", nil, nil),
		managingExpiry: prometheus.NewDesc("tokenwarden_managing_token_expiry_timestamp_seconds",
			"When the token tokenwarden itself runs with expires (Unix time). No series before the first check or when it never expires.", []string{"token_name"}, nil),
		managingOK: prometheus.NewDesc("tokenwarden_managing_token_valid",
			"1 while GitLab accepts the token tokenwarden runs with, 0 once it has expired or been revoked. No series before the first check.", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.expiry, c.lastUsed, c.nextRotate, c.findings, c.lastScan, c.managingExpiry, c.managingOK} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Snapshot()
	for _, t := range mergeTokens(s.Tokens) {
		labels := []string{t.ResourceType, t.ResourcePath, t.Name, strconv.FormatBool(t.Managed), kindOf(t)}
		for _, g := range []struct {
			d *prometheus.Desc
			v *time.Time
		}{{c.expiry, t.ExpiresAt}, {c.lastUsed, t.LastUsedAt}, {c.nextRotate, t.NextRotation}} {
			if g.v != nil {
				ch <- prometheus.MustNewConstMetric(g.d, prometheus.GaugeValue, seconds(*g.v), labels...)
			}
		}
	}
	for _, f := range mergeFindings(s.Findings) {
		ch <- prometheus.MustNewConstMetric(c.findings, prometheus.GaugeValue, float64(f.Count), f.Code, f.Severity)
	}
	var last float64
	if !s.LastScan.IsZero() {
		last = seconds(s.LastScan)
	}
	ch <- prometheus.MustNewConstMetric(c.lastScan, prometheus.GaugeValue, last)
	if m := s.Managing; m != nil {
		if m.ExpiresAt != nil {
			ch <- prometheus.MustNewConstMetric(c.managingExpiry, prometheus.GaugeValue, seconds(*m.ExpiresAt), m.Name)
		}
		valid := 0.0
		if m.Valid {
			valid = 1
		}
		ch <- prometheus.MustNewConstMetric(c.managingOK, prometheus.GaugeValue, valid)
	}
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// mergeTokens folds tokens that share a label set into one series: GitLab
// allows two tokens of one name on one resource, and during an overlap
// rotation the old and the new token both exist. A registry that saw the
// same series twice would fail the scrape. The merged series reports what
// an alert cares about: the latest expiry (the successor's), the latest use
// and the earliest next rotation.
func mergeTokens(in []TokenState) []TokenState {
	type key struct {
		typ, path, name, kind string
		managed               bool
	}
	idx := map[key]int{}
	var out []TokenState
	for _, t := range in {
		k := key{t.ResourceType, t.ResourcePath, t.Name, kindOf(t), t.Managed}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, t)
			continue
		}
		o := &out[i]
		o.ExpiresAt = pick(o.ExpiresAt, t.ExpiresAt, true)
		o.LastUsedAt = pick(o.LastUsedAt, t.LastUsedAt, true)
		o.NextRotation = pick(o.NextRotation, t.NextRotation, false)
	}
	return out
}

// pick returns the later (or earlier) of two optional times.
func pick(a, b *time.Time, later bool) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.After(*a) == later && !b.Equal(*a):
		return b
	}
	return a
}

// mergeFindings sums counts reported twice for one code and severity.
func mergeFindings(in []FindingCount) []FindingCount {
	sum := map[[2]string]int{}
	for _, f := range in {
		sum[[2]string{f.Code, f.Severity}] += f.Count
	}
	out := make([]FindingCount, 0, len(sum))
	for k, n := range sum {
		out = append(out, FindingCount{Code: k[0], Severity: k[1], Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code+out[i].Severity < out[j].Code+out[j].Severity })
	return out
}
