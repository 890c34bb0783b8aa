package daemon

import (
	"context"
	"fmt"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// variables identifies the tokens the scan found in CI/CD variables (by
// the journal's digests, then, for an administrator, POST /admin/token —
// never by use: that would reset their last_used_at every scan) and adds to
// each identified token's row where it lives and the variables' findings.
// It returns why the picture is incomplete, or "".
func (d *Daemon) variables(ctx context.Context, rep *inventory.Report, toks []Token, now time.Time, th policy.Thresholds) string {
	delivered, err := inventory.JournalDigests(ctx, d.d.Store, nil)
	if err != nil {
		d.d.Log.Warn("variables: read the journal's digests", "err", err)
	}
	known := make([]gitlab.Token, len(toks))
	for i, t := range toks {
		known[i] = t.Token
	}
	st, err := inventory.Identify(ctx, d.d.GitLab, rep, inventory.IdentifyOptions{Journal: delivered, Admin: rep.User.Admin, Now: now, Known: known})
	if err != nil && ctx.Err() == nil {
		d.d.Log.Warn("variables: identify the tokens found", "err", err)
	}
	ev := inventory.EvaluateVariables(rep.Variables, now, th, policy.DefaultManyPlaces)
	for i := range toks {
		t := toks[i].Token
		if k := t.TokenKind(); k != gitlab.KindGroupAccessToken && k != gitlab.KindProjectAccessToken {
			continue
		}
		toks[i].Lives = ev.Lives[t.ID]
		for _, f := range ev.ByToken[t.ID] {
			toks[i].Add(f)
		}
	}
	d.d.Log.Info("variables scanned", "variables", rep.VariableCount, "holding_tokens", len(rep.Variables),
		"identified", st.Secrets-st.Unidentified, "not_identified", st.Unidentified)
	if len(rep.VariableErrors) > 0 {
		e := rep.VariableErrors[0]
		return fmt.Sprintf("variables incomplete: %d resource(s) could not be read (first: %s %s: %v)", len(rep.VariableErrors), e.Resource.Type, e.Resource.Path, e.Err)
	}
	return ""
}
