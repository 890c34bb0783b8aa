package daemon_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
)

// The daemon's own collectors report what it did: one finished rotation is
// counted once, and the token's gauges come from its state.
func TestMetricsCountARotationOnce(t *testing.T) {
	w, _ := managedWorld(t, "deploy", 3*day, 40*day) // due now
	p := w.start(nil)
	p.asleep(t) // delivered and verified; the old token retires after 1s
	w.Clock.Advance(time.Second)
	p.asleep(t)
	if rs := p.rotations(t, "deploy"); len(rs) != 1 || rs[0].Step != journal.StepDone {
		t.Fatalf("rotations %+v, want one, done", rs)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p.d.Metrics()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	expiry := 0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "tokenwarden_rotations_total":
			for _, m := range mf.GetMetric() {
				key := ""
				for _, l := range m.GetLabel() {
					key += l.GetName() + "=" + l.GetValue() + " "
				}
				got[key] = m.GetCounter().GetValue()
			}
		case "tokenwarden_token_expiry_timestamp_seconds":
			expiry = len(mf.GetMetric())
		}
	}
	if n := got["result=done strategy=overlap "]; n != 1 {
		t.Errorf("tokenwarden_rotations_total{overlap,done} = %v, want 1 (all: %v)", n, got)
	}
	if n := got["result=failed strategy=overlap "]; n != 0 {
		t.Errorf("tokenwarden_rotations_total{overlap,failed} = %v, want 0", n)
	}
	for _, s := range []string{"rotate", "self"} {
		if _, ok := got["result=done strategy="+s+" "]; !ok {
			t.Errorf("no tokenwarden_rotations_total{%s,done} series at 0 before any such rotation (all: %v)", s, got)
		}
	}
	if expiry == 0 {
		t.Error("no tokenwarden_token_expiry_timestamp_seconds series from the daemon's state")
	}
}
