package policy

import (
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// Row is one token evaluated at a point in time: its state, the days it has
// left and what the policy says about it. scan's report and serve's
// dashboard, metrics and notifications are built from rows.
type Row struct {
	gitlab.Token
	State    string // gitlab.StateActive | StateExpired | StateRevoked
	DaysLeft *int   // see DaysLeft; nil when the token never expires
	Findings []Finding
	Worst    string // the most severe finding's severity, "" when none
}

// Evaluated is tok's row at now under th.
func Evaluated(tok gitlab.Token, now time.Time, th Thresholds) Row {
	r := Row{Token: tok, State: tok.State(now), Findings: Evaluate(tok, now, th)}
	if days, ok := DaysLeft(tok, now); ok {
		r.DaysLeft = &days
	}
	r.Worst = Worst(r.Findings)
	return r
}

// Add appends a finding that the checks do not make (serve's unmanaged)
// and keeps Worst.
func (r *Row) Add(f Finding) {
	r.Findings = append(r.Findings, f)
	r.Worst = Worst(r.Findings)
}
