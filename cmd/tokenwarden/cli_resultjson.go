package main

import (
	"encoding/json"
	"io"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/cleanup"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
)

// The --format json output of apply, rotate and revoke, documented in the
// README ("JSON output"): one object with the command and one item per
// token. Fields are only added, never renamed or removed. No secret is ever
// in it: a rotation's new secret is not a field, and stdout passes through
// the redactor like every output.
type resultJSON struct {
	Command string           `json:"command"`
	Changes *int             `json:"changes,omitempty"` // apply: the plan's changes
	DryRun  *bool            `json:"dry_run,omitempty"` // revoke
	Items   []resultItemJSON `json:"items"`
}

type resultItemJSON struct {
	Ref string `json:"ref"`
	// Action: apply's plan action (create, rotate, deliver, adopt, resume,
	// none, error); rotate: rotate or resume; revoke: revoke or skip.
	Action string `json:"action"`
	// Result: done, waiting (overlap: the old token is revoked after the
	// grace period), retry (the next apply resumes it), failed, unchanged,
	// error (could not be evaluated); revoke: revoked, already-gone,
	// failed, dry-run, or for skip: managed, in-use.
	Result         string     `json:"result"`
	Strategy       string     `json:"strategy,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	RotationID     string     `json:"rotation_id,omitempty"`
	TokenID        int64      `json:"token_id,omitempty"`         // revoke: the token revoked
	Kind           string     `json:"kind,omitempty"`             // revoke: its kind (group_access_token, deploy_token, …)
	CurrentTokenID int64      `json:"current_token_id,omitempty"` // apply: the live token before the run
	OldTokenID     int64      `json:"old_token_id,omitempty"`
	NewTokenID     int64      `json:"new_token_id,omitempty"`
	ExpiresAt      string     `json:"expires_at,omitempty"` // the new token's expiry (YYYY-MM-DD)
	RevokeAfter    *time.Time `json:"revoke_after,omitempty"`
	Delivered      []string   `json:"delivered,omitempty"` // sink ids delivered to
	Warning        string     `json:"warning,omitempty"`
	Error          string     `json:"error,omitempty"`
	Hint           string     `json:"hint,omitempty"`
}

func writeResultJSON(w io.Writer, r resultJSON) error {
	if r.Items == nil {
		r.Items = []resultItemJSON{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func errText(err error) (msg, hint string) {
	if err == nil {
		return "", ""
	}
	return printable(err.Error()), problem.Hint(err)
}

// outcomeJSON is one rotation's result.
func outcomeJSON(action string, o engine.Outcome) resultItemJSON {
	r := o.Rotation
	j := resultItemJSON{Action: action, Result: string(o.Status)}
	if r != nil {
		j.Ref, j.Strategy, j.Reason, j.RotationID = r.Ref, r.Strategy, r.Reason, r.ID
		j.OldTokenID, j.NewTokenID, j.Delivered = r.OldTokenID, r.NewTokenID, r.Delivered
		if r.NewExpiresAt != nil {
			j.ExpiresAt = r.NewExpiresAt.Format(time.DateOnly)
		}
		if o.Status == engine.StatusWaiting && r.RevokeAfter != nil {
			t := r.RevokeAfter.UTC()
			j.RevokeAfter = &t
		}
	}
	j.Error, j.Hint = errText(o.Err)
	return j
}

// applyJSON is apply's result: one item per planned token, with the outcome
// of what was done to it, then any resumed rotation of a token no longer in
// the plan.
func applyJSON(p *engine.Plan, outs []engine.Outcome) resultJSON {
	changes := p.Changes()
	res := resultJSON{Command: "apply", Changes: &changes}
	used := make([]bool, len(outs))
	for _, it := range p.Items {
		j := resultItemJSON{Ref: it.Ref, Action: string(it.Action), Result: "unchanged",
			Strategy: string(it.Strategy), Reason: it.Reason, RotationID: it.RotationID, Warning: it.Warning}
		if it.Current != nil {
			j.CurrentTokenID = it.Current.ID
		}
		// The last outcome for the token: a resumed rotation may precede
		// the one the plan asked for.
		for i, o := range outs {
			if o.Rotation != nil && o.Rotation.Ref == it.Ref {
				used[i] = true
				oj := outcomeJSON(string(it.Action), o)
				oj.CurrentTokenID, oj.Warning = j.CurrentTokenID, j.Warning
				if oj.Strategy == "" {
					oj.Strategy = j.Strategy
				}
				j = oj
			}
		}
		if it.Action == engine.ActionError {
			j.Result = "error"
			j.Error, j.Hint = errText(it.Err)
			if j.Error == "" {
				j.Error = printable(it.Reason)
			}
		}
		res.Items = append(res.Items, j)
	}
	for i, o := range outs {
		if !used[i] {
			res.Items = append(res.Items, outcomeJSON(string(engine.ActionResume), o))
		}
	}
	return res
}

// revokeJSON is revoke's result: the tokens revoked (or, dry, that would
// be), then those skipped.
func revokeJSON(dryRun bool, cands []cleanup.Candidate, results []cleanup.Result, sel cleanup.Selection, inUse []cleanup.Candidate) resultJSON {
	res := resultJSON{Command: "revoke", DryRun: &dryRun}
	item := func(c cleanup.Candidate, action, result string) resultItemJSON {
		return resultItemJSON{Ref: printable(cleanup.Ref(c.Token)), Action: action, Result: result,
			TokenID: c.Token.ID, Kind: c.Token.TokenKind(), Reason: c.Reason}
	}
	if results == nil {
		for _, c := range cands {
			res.Items = append(res.Items, item(c, "revoke", "dry-run"))
		}
	}
	for _, r := range results {
		result := string(r.Outcome)
		if r.Outcome == cleanup.AlreadyGone {
			result = "already-gone"
		}
		j := item(r.Candidate, "revoke", result)
		j.RotationID = r.RotationID
		j.Error, j.Hint = errText(r.Err)
		if r.RecordErr != nil {
			j.Warning = "not recorded in the journal: " + printable(r.RecordErr.Error())
		}
		res.Items = append(res.Items, j)
	}
	for _, c := range inUse {
		res.Items = append(res.Items, item(c, "skip", "in-use"))
	}
	for _, c := range sel.Managed {
		res.Items = append(res.Items, item(c, "skip", "managed"))
	}
	return res
}

// errNoConfirmJSON refuses a --format json run that would have to ask.
func errNoConfirmJSON(cmd, alt string) error {
	return withHint(usageError("%s --format json does not ask for confirmation", cmd), "pass --yes"+alt)
}
