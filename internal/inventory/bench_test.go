package inventory_test

import (
	"context"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// BenchmarkScan inventories 40 groups (10 top-level with 3 subgroups each)
// × 10 projects × 2 tokens (plus one token per group) on an emulator that
// adds 20 ms to every request, and reports:
//
//	calls           API requests sent (retries included)
//	lower_bound     one list call per 100 groups, per 100 projects, per 100 tokens of each group and project
//	calls/bound     target ≤ 1.25
//	wall_ms         wall time of the scan
//	floor_ms        sequential floor: calls × latency
//	speedup         floor / wall; target ≥ 8
//	429s            throttled answers received; target 0 with a rate limit
//
// Run it with `make bench` (go test -run '^$' -bench . -benchtime 1x ./internal/inventory/).
func BenchmarkScan(b *testing.B) {
	in := instance{tops: 10, subs: 3, projects: 10, tokens: 2}
	const latency = 20 * time.Millisecond
	cases := []struct {
		name        string
		rateLimit   int
		concurrency int
	}{
		{"no-limit/default-concurrency", 0, 0},
		{"no-limit/concurrency-8", 0, 8},
		{"limit-600-per-min/default-concurrency", 600, 0},
		// 452 calls cannot fit into one 400/min window: the pacer must
		// hold requests until the window resets (about a minute).
		{"limit-400-per-min/default-concurrency", 400, 0},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var calls, throttled int64
			var wall time.Duration
			for b.Loop() {
				b.StopTimer()
				// A fresh instance each round: the rate limit budget is per minute.
				srv, url := startSim(b, in, sim.Options{Latency: latency, RateLimit: bc.rateLimit})
				c := client(b, url)
				b.StartTimer()
				start := time.Now()
				rep, err := inventory.Scan(context.Background(), c, inventory.Options{Concurrency: bc.concurrency})
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Tokens) != in.tokenCount() || len(rep.Errors) != 0 {
					b.Fatalf("found %d tokens, want %d; errors %v", len(rep.Tokens), in.tokenCount(), rep.Errors)
				}
				st := c.Stats()
				calls += st.Calls
				throttled += st.Throttled
				if srvThrottled := srv.Stats().Throttled; srvThrottled != st.Throttled {
					b.Fatalf("client saw %d 429s, emulator sent %d", st.Throttled, srvThrottled)
				}
			}
			n := float64(b.N)
			perCalls := float64(calls) / n
			perWall := wall / time.Duration(b.N)
			floor := time.Duration(perCalls) * latency
			b.ReportMetric(perCalls, "calls")
			b.ReportMetric(float64(in.lowerBound()), "lower_bound")
			b.ReportMetric(perCalls/float64(in.lowerBound()), "calls/bound")
			b.ReportMetric(float64(perWall.Milliseconds()), "wall_ms")
			b.ReportMetric(float64(floor.Milliseconds()), "floor_ms")
			b.ReportMetric(float64(floor)/float64(perWall), "speedup")
			b.ReportMetric(float64(throttled)/n, "429s")
		})
	}
}
