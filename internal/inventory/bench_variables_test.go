package inventory_test

import (
	"context"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// BenchmarkScanVariables is the cost of scan --variables on the seeded
// 40 groups × 10 projects × 2 tokens instance (sim --variables: some 800
// variables, about 400 of them holding tokens or hidden) with 20 ms of
// latency per request,
// with and without --variables, and of identifying what was found with
// POST /admin/token (one call per distinct secret):
//
//	calls        API requests of the scan (retries included)
//	wall_ms      wall time of the scan
//	vars_found   variables holding a token or hidden
//	id_calls     requests of the identification
//	id_wall_ms   its wall time
//
// Run it with `make bench`.
func BenchmarkScanVariables(b *testing.B) {
	const latency = 20 * time.Millisecond
	for _, withVars := range []bool{false, true} {
		name := "without-variables"
		if withVars {
			name = "with-variables"
		}
		b.Run(name, func(b *testing.B) {
			var calls, idCalls int64
			var wall, idWall time.Duration
			found := 0
			for b.Loop() {
				b.StopTimer()
				_, url := simtest.Start(b, sim.Options{Clock: clock.Real{}, RootToken: rootToken, Seed: 1, Groups: 40, ProjectsPerGroup: 10,
					TokensPerProject: 2, Variables: true, Latency: latency})
				c := client(b, url)
				b.StartTimer()
				start := time.Now()
				rep, err := inventory.Scan(context.Background(), c, inventory.Options{Variables: withVars})
				wall += time.Since(start)
				if err != nil || len(rep.Errors)+len(rep.VariableErrors) != 0 {
					b.Fatalf("scan: %v %v %v", err, rep.Errors, rep.VariableErrors)
				}
				calls += c.Stats().Calls
				found += len(rep.Variables)
				if withVars {
					before := c.Stats().Calls
					start := time.Now()
					if _, err := inventory.Identify(context.Background(), c, rep, inventory.IdentifyOptions{Admin: true, Now: time.Now()}); err != nil {
						b.Fatal(err)
					}
					idWall += time.Since(start)
					idCalls += c.Stats().Calls - before
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(calls)/n, "calls")
			b.ReportMetric(float64((wall / time.Duration(b.N)).Milliseconds()), "wall_ms")
			b.ReportMetric(float64(found)/n, "vars_found")
			b.ReportMetric(float64(idCalls)/n, "id_calls")
			b.ReportMetric(float64((idWall / time.Duration(b.N)).Milliseconds()), "id_wall_ms")
		})
	}
}
