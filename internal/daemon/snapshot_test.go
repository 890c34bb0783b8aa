package daemon_test

import (
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// TestSnapshotLeavesOutRevokedTokens: a revoked token stays listed for 30
// days. Its expiry must not reach /metrics: it would raise "expires soon"
// alerts for a token that no longer works, and, folded into the series of
// a live token of the same name, its later expiry would hide that the live
// one is about to expire.
func TestSnapshotLeavesOutRevokedTokens(t *testing.T) {
	w, _ := managedWorld(t, "other", 30*day, 40*day)
	for _, tc := range []struct {
		name    string
		expires time.Duration
		revoked bool
	}{{"ci", 200, true}, {"ci", 5, false}, {"dead", 3, true}} {
		exp := start.Add(tc.expires * day)
		if _, _, err := w.Srv.CreateAccessToken("project", w.Project.ID, sim.TokenSpec{
			Name: tc.name, Scopes: []string{"read_api"}, AccessLevel: 20, CreatedAt: start.Add(-day), ExpiresAt: &exp, Revoked: tc.revoked,
		}); err != nil {
			t.Fatal(err)
		}
	}
	p := w.start(nil)
	p.asleep(t)

	var ci []int64
	for _, ts := range p.d.Snapshot().Tokens {
		switch ts.Name {
		case "dead":
			t.Errorf("revoked token dead is in the snapshot: %+v", ts)
		case "ci":
			ci = append(ci, int64(ts.ExpiresAt.Sub(start)/day))
		}
	}
	// Both series of ci would be folded into one with the latest expiry.
	if len(ci) != 1 || ci[0] != 5 {
		t.Errorf("ci in the snapshot expires in %v days, want only the live token's 5", ci)
	}
}

// TestSnapshotWithMetricsTokensManaged: serve.metrics_tokens: managed keeps
// the per-token series to the managed tokens (on a large instance, all of
// them make /metrics tens of MB); the findings still count every token.
func TestSnapshotWithMetricsTokensManaged(t *testing.T) {
	w, _ := managedWorld(t, "other", 30*day, 40*day)
	w.editConfig("serve: {scan_interval: 30d}", "serve: {scan_interval: 30d, metrics_tokens: managed}", "")
	exp := start.Add(3 * day)
	if _, _, err := w.Srv.CreateAccessToken("project", w.Project.ID, sim.TokenSpec{
		Name: "unmanaged-ci", Scopes: []string{"read_api"}, AccessLevel: 20, CreatedAt: start.Add(-day), ExpiresAt: &exp,
	}); err != nil {
		t.Fatal(err)
	}
	p := w.start(nil)
	p.asleep(t)

	snap := p.d.Snapshot()
	var names []string
	for _, ts := range snap.Tokens {
		names = append(names, ts.Name)
	}
	if len(names) != 1 || names[0] != "other" {
		t.Errorf("per-token series for %v, want only the managed token other", names)
	}
	soon := 0
	for _, f := range snap.Findings {
		if f.Code == "expires-soon" {
			soon += f.Count
		}
	}
	if soon == 0 {
		t.Errorf("findings %+v: unmanaged-ci's expires-soon is not counted", snap.Findings)
	}
}
