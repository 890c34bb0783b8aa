package schedule_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
)

// plan never says "ok" for a managed token that scan, with its default
// thresholds, flags expired or expires-soon critical: whatever the token's
// actual lifetime, and for every lifetime and rotate_before the config
// accepts.
func TestPlanNeverOKWhatScanCallsCritical(t *testing.T) {
	const day = 24 * time.Hour
	th := policy.DefaultThresholds()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	checked := 0
	for i := 0; i < 20000; i++ {
		now := base.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		expires := base.AddDate(0, 0, rng.IntN(60)-5)
		created := expires.Add(-time.Duration(1+rng.IntN(400)) * day / 2)
		lifetime := time.Duration(1+rng.IntN(365)) * day
		var before time.Duration
		if rng.IntN(2) == 0 {
			before = time.Duration(rng.Int64N(int64(lifetime)))
		}
		tok := gitlab.Token{ID: 1, Name: "deploy", Active: true, CreatedAt: created, ExpiresAt: &expires}
		critical := false
		for _, f := range policy.Evaluate(tok, now, th) {
			if f.Code == policy.CodeExpired || (f.Code == policy.CodeExpiresSoon && f.Severity == policy.SeverityCritical) {
				critical = true
			}
		}
		if !critical {
			continue
		}
		checked++
		facts := schedule.Facts{Now: now, SecretKnown: true, Verified: true}
		if !tok.Expired(now) { // the engine only ever finds live tokens
			facts.Live = &schedule.Live{ID: 1, CreatedAt: created, ExpiresAt: &expires}
		}
		p := schedule.Policy{Lifetime: lifetime, RotateBefore: before, Critical: th.ExpiresCritical}
		if d := schedule.Decide(facts, p, "project/a:deploy"); d.Action == schedule.None {
			t.Fatalf("now %s, created %s, expires %s, lifetime %s, rotate_before %s: scan says critical, plan says ok (%s)",
				now, created, expires, lifetime, before, d.Reason)
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d critical cases generated; the test checks too little", checked)
	}
}
