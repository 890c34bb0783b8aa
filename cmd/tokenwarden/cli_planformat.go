package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
)

// writePolicyWarnings prints, above a plan, what scan would flag on the
// managed tokens as the config asks for them: tokenwarden would create
// tokens that break its own policy. Nothing when there is nothing to say.
func writePolicyWarnings(w io.Writer, ws []config.PolicyWarning) {
	if len(ws) == 0 {
		return
	}
	fmt.Fprintln(w, "Policy warnings: scan would flag these managed tokens as configured (policy.enforce: true makes them config errors)")
	for _, x := range ws {
		fmt.Fprintf(w, "  ! %s  %s: %s\n", x.Token.Ref(), x.Finding.Code, x.Finding.Message)
		fmt.Fprintf(w, "      fix (%s:%d): %s\n", x.File, x.Line, x.Finding.Fix)
	}
	fmt.Fprintln(w)
}

type policyWarningJSON struct {
	Ref      string `json:"ref"`
	Line     int    `json:"line"`
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

var actionMark = map[engine.Action]string{
	engine.ActionCreate:  "+ create",
	engine.ActionRotate:  "~ rotate",
	engine.ActionDeliver: "* deliver",
	engine.ActionAdopt:   "~ adopt",
	engine.ActionResume:  "> resume",
	engine.ActionNone:    "  ok",
	engine.ActionError:   "! error",
}

func writePlanText(w io.Writer, p *engine.Plan) {
	fmt.Fprintf(w, "Plan at %s: %d managed token(s), %d change(s)\n\n", p.At.UTC().Format("2006-01-02 15:04 UTC"), len(p.Items), p.Changes())
	refW := 0
	for _, it := range p.Items {
		refW = max(refW, len(it.Ref))
	}
	for _, it := range p.Items {
		fmt.Fprintf(w, "%-9s  %-*s  %-7s  %s\n", actionMark[it.Action], refW, it.Ref, it.Strategy, it.Reason)
		if it.Warning != "" {
			fmt.Fprintf(w, "%11s! %s\n", "", it.Warning)
		}
		if it.Note != "" {
			fmt.Fprintf(w, "%11si %s\n", "", it.Note)
		}
		if it.Action != engine.ActionNone && it.Action != engine.ActionError {
			for _, d := range it.Deliver {
				fmt.Fprintf(w, "%11s→ %s\n", "", d)
			}
		}
	}
}

type planJSONItem struct {
	Ref            string          `json:"ref"`
	Action         string          `json:"action"`
	Strategy       config.Strategy `json:"strategy"`
	Reason         string          `json:"reason"`
	CurrentTokenID int64           `json:"current_token_id,omitempty"`
	ExpiresAt      string          `json:"expires_at,omitempty"`
	RenewAt        *time.Time      `json:"renew_at,omitempty"`
	RotationID     string          `json:"rotation_id,omitempty"`
	Warning        string          `json:"warning,omitempty"`
	Note           string          `json:"note,omitempty"`
	Deliver        []string        `json:"deliver"`
}

func writePlanJSON(w io.Writer, p *engine.Plan, ws []config.PolicyWarning) error {
	out := struct {
		At             time.Time           `json:"at"`
		Changes        int                 `json:"changes"`
		PolicyWarnings []policyWarningJSON `json:"policy_warnings"`
		Items          []planJSONItem      `json:"items"`
	}{At: p.At.UTC(), Changes: p.Changes(), PolicyWarnings: []policyWarningJSON{}, Items: []planJSONItem{}}
	for _, x := range ws {
		out.PolicyWarnings = append(out.PolicyWarnings, policyWarningJSON{Ref: x.Token.Ref(), Line: x.Line,
			Code: x.Finding.Code, Severity: x.Finding.Severity, Message: x.Finding.Message, Fix: x.Finding.Fix})
	}
	for _, it := range p.Items {
		j := planJSONItem{Ref: it.Ref, Action: string(it.Action), Strategy: it.Strategy, Reason: it.Reason,
			RenewAt: it.RenewAt, RotationID: it.RotationID, Warning: it.Warning, Note: it.Note, Deliver: it.Deliver}
		if j.Deliver == nil {
			j.Deliver = []string{}
		}
		if it.Current != nil {
			j.CurrentTokenID = it.Current.ID
			if it.Current.ExpiresAt != nil {
				j.ExpiresAt = it.Current.ExpiresAt.Format(time.DateOnly)
			}
		}
		out.Items = append(out.Items, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeOutcome prints one rotation's result as a line a person can act on.
func writeOutcome(w io.Writer, o engine.Outcome) {
	r := o.Rotation
	switch o.Status {
	case engine.StatusDone:
		what := "rotated"
		switch r.Kind {
		case journal.KindCreation:
			what = "created"
		case journal.KindDelivery:
			fmt.Fprintf(w, "✓ delivered %s: live token %d's secret to %d sink(s), verified (no new token)\n", r.Ref, r.NewTokenID, len(r.Delivered))
			return
		}
		fmt.Fprintf(w, "✓ %s %s (%s): token %d", what, r.Ref, r.Strategy, r.NewTokenID)
		if r.NewExpiresAt != nil {
			fmt.Fprintf(w, ", expires %s", r.NewExpiresAt.Format(time.DateOnly))
		}
		fmt.Fprintf(w, ", delivered to %d sink(s), verified", len(r.Delivered))
		if r.OldTokenID != 0 {
			fmt.Fprintf(w, ", old token %d revoked", r.OldTokenID)
		}
		fmt.Fprintln(w)
	case engine.StatusWaiting:
		fmt.Fprintf(w, "✓ rotated %s (%s): token %d delivered to %d sink(s) and verified; old token %d stays valid until %s (grace), then the next apply revokes it\n",
			r.Ref, r.Strategy, r.NewTokenID, len(r.Delivered), r.OldTokenID, r.RevokeAfter.UTC().Format(time.RFC3339))
	case engine.StatusRetry:
		fmt.Fprintf(w, "! %s (%s) stopped at step %q: %v\n  the next apply resumes it (rotation %s)\n", r.Ref, r.Strategy, r.Step, o.Err, r.ID)
	case engine.StatusFailed:
		fmt.Fprintf(w, "✗ %s (%s) failed: %v\n  see `tokenwarden history %s`\n", r.Ref, r.Strategy, o.Err, r.Ref)
	}
	if o.Err != nil {
		if h := problem.Hint(o.Err); h != "" { // a sink's refusal says what to change
			fmt.Fprintf(w, "  hint: %s\n", h)
		}
	}
}

// outcomeCode is the exit code for a run of rotations.
func outcomeCode(outs []engine.Outcome) error {
	var failed, ok int
	for _, o := range outs {
		if o.Status == engine.StatusFailed || o.Status == engine.StatusRetry {
			failed++
		} else {
			ok++
		}
	}
	if failed == 0 {
		return nil
	}
	return withCode(exitPartial, fmt.Errorf("%d of %d rotation(s) did not complete", failed, failed+ok))
}
