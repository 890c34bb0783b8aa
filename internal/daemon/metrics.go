package daemon

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/metrics"
)

// Metrics are the daemon's collectors, for /metrics: the gauges read from
// its state at every scrape and the rotations it finished.
func (d *Daemon) Metrics() []prometheus.Collector {
	return []prometheus.Collector{metrics.NewStateCollector(d), d.rotations}
}

// Snapshot is the state as the metrics package reads it at scrape time.
// With it, *Daemon is a metrics.Source.
func (d *Daemon) Snapshot() metrics.Snapshot {
	st := d.State()
	snap := metrics.Snapshot{LastScan: st.ScannedAt}
	if m := st.Managing; m != nil {
		snap.Managing = &metrics.ManagingState{Name: m.Token.Name, ExpiresAt: m.Token.ExpiresAt, Valid: !st.ManagingDead()}
	}
	type key struct{ code, sev string }
	counts := map[key]int{}
	managedOnly := false
	if cfg := d.Config(); cfg != nil {
		managedOnly = cfg.Serve.MetricsTokens == config.MetricsTokensManaged
	}
	for _, t := range st.Tokens {
		for _, f := range t.Findings {
			if t.State != gitlab.StateRevoked {
				counts[key{f.Code, f.Severity}]++
			}
		}
		if t.State == gitlab.StateRevoked {
			// Still listed for 30 days, but dead: its expiry would raise
			// "expires soon" alerts, and folded into the series of a live
			// token of the same name its later expiry would hide the live
			// one's. (Expired tokens stay: they are what alerts look for.)
			continue
		}
		if managedOnly && t.Ref == "" {
			// serve.metrics_tokens: managed. Its findings still count.
			continue
		}
		snap.Tokens = append(snap.Tokens, metrics.TokenState{
			Kind:         t.TokenKind(),
			ResourceType: t.Resource.Type, ResourcePath: t.Resource.Path, Name: t.Name, Managed: t.Ref != "",
			ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, NextRotation: t.NextRotation,
		})
	}
	for k, n := range counts {
		snap.Findings = append(snap.Findings, metrics.FindingCount{Code: k.code, Severity: k.sev, Count: n})
	}
	sort.Slice(snap.Findings, func(i, j int) bool { return snap.Findings[i].Code < snap.Findings[j].Code })
	return snap
}

// countRotation counts a final outcome.
func (d *Daemon) countRotation(o engine.Outcome) {
	switch o.Status {
	case engine.StatusDone:
		d.rotations.Rotated(o.Rotation.Strategy, metrics.ResultDone)
	case engine.StatusFailed:
		d.rotations.Rotated(o.Rotation.Strategy, metrics.ResultFailed)
	}
}
