package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/metrics"
)

type fixed metrics.Snapshot

func (f fixed) Snapshot() metrics.Snapshot { return metrics.Snapshot(f) }

// BenchmarkScrapeSize scrapes /metrics with 110,000 tokens (one in ten
// managed, every one used and expiring) with per-token series for all of
// them (serve.metrics_tokens: all) and for the managed ones only
// (metrics_tokens: managed), and reports the body's size and series count.
//
//	go test -run '^$' -bench ScrapeSize ./internal/metrics/
func BenchmarkScrapeSize(b *testing.B) {
	const n = 110_000
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var all, managed []metrics.TokenState
	for i := range n {
		exp, used := now.AddDate(0, 0, i%300), now.AddDate(0, 0, -(i%40))
		t := metrics.TokenState{ResourceType: "project", ResourcePath: fmt.Sprintf("group-%d/project-%d", i/100, i/10%10),
			Name: fmt.Sprintf("deploy-%d", i%10), Managed: i%10 == 1, ExpiresAt: &exp, LastUsedAt: &used}
		if t.Managed {
			next := now.AddDate(0, 0, i%30)
			t.NextRotation = &next
			managed = append(managed, t)
		}
		all = append(all, t)
	}
	for _, tc := range []struct {
		name   string
		tokens []metrics.TokenState
	}{{"metrics_tokens=all", all}, {"metrics_tokens=managed", managed}} {
		b.Run(tc.name, func(b *testing.B) {
			h := metrics.Handler("v", "r", metrics.NewStateCollector(fixed{Tokens: tc.tokens, LastScan: now}))
			var size int
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if w.Code != http.StatusOK {
					b.Fatalf("/metrics: %d", w.Code)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size)/(1<<20), "MiB")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scrape")
		})
	}
}
