package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/cleanup"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// scan walks the instance and replaces the state's tokens. A failed scan
// keeps the previous tokens and records why.
func (d *Daemon) scan(ctx context.Context) {
	if d.d.GitLab == nil {
		d.mu.Lock()
		d.state.Scanned, d.state.ScannedAt = true, d.d.Clock.Now()
		d.state.ScanErr = "no managing GitLab token configured: nothing is scanned"
		d.mu.Unlock()
		return
	}
	cfg := d.Config()
	started := d.d.Clock.Now()
	d.checkManaging(ctx, cfg)
	kinds := cfg.ServeKinds()
	rep, err := inventory.Scan(ctx, d.d.GitLab, inventory.Options{Groups: d.d.ScanGroups, Variables: cfg.Serve.ScanVariables,
		Concurrency: d.d.ScanConcurrency, Kinds: kinds, CredentialsInventory: !cfg.Serve.NoCredentialsInventory})
	now := d.d.Clock.Now()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		d.d.Log.Error("scan failed", "err", err)
		d.mu.Lock()
		d.state.Scanned, d.state.ScannedAt, d.state.ScanErr = true, now, err.Error()
		d.mu.Unlock()
		return
	}
	th := cfg.Policy.Thresholds()
	toks := evaluate(rep.Tokens, cfg, now, th)
	scanErr := ""
	if len(rep.Errors) > 0 {
		scanErr = fmt.Sprintf("scan incomplete: %d resource(s) could not be read (first: %s %s: %v)",
			len(rep.Errors), rep.Errors[0].Resource.Type, rep.Errors[0].Resource.Path, rep.Errors[0].Err)
	}
	if cfg.Serve.ScanVariables {
		if msg := d.variables(ctx, rep, toks, now, th); msg != "" && scanErr == "" {
			scanErr = msg
		}
	}
	d.mu.Lock()
	first := !d.state.Scanned
	d.attachRenewals(toks)
	d.state.Scanned, d.state.ScannedAt, d.state.ScanErr, d.state.Tokens = true, now, scanErr, toks
	prevFindings, prevActive := d.prev, d.active
	d.prev, d.active = findingKeys(toks), activeKeys(toks)
	d.mu.Unlock()
	d.d.Log.Info("scan done", "tokens", len(toks), "kinds", strings.Join(kinds, ","), "groups", rep.Groups, "projects", rep.Projects,
		"errors", len(rep.Errors), "took", now.Sub(started).String())
	d.notifyScan(ctx, toks, th, first, prevFindings, prevActive)
}

// evaluate turns the inventory into dashboard rows: state, findings (plus
// unmanaged), and the config ref of managed tokens. A config entry manages
// the token of its kind, resource and name: a deploy token never takes the
// ref of an access token of the same name.
func evaluate(list []gitlab.Token, cfg *config.Config, now time.Time, th policy.Thresholds) []Token {
	refs := map[string]string{}
	for _, t := range cfg.Tokens {
		refs[t.TokenKind()+" "+cleanup.ManagedKey(t.ResourceType(), t.ResourcePath(), t.Name)] = t.Ref()
	}
	out := make([]Token, 0, len(list))
	for _, t := range list {
		row := Token{Row: policy.Evaluated(t, now, th), Ref: refs[t.TokenKind()+" "+cleanup.KeyOf(t)]}
		if row.Ref == "" && row.State == gitlab.StateActive && t.Resource.Type != "user" && config.CanManage(t.TokenKind()) {
			row.Add(policy.Finding{
				Code: CodeUnmanaged, Severity: policy.SeverityInfo,
				Message: "no entry in tokenwarden's config manages this token",
				Fix:     "add it under tokens: in the config so that it is rotated, or revoke it",
			})
		}
		out = append(out, row)
	}
	return out
}

// attachRenewals copies the planned renewal time onto the current token of
// each managed entry: the scanned token of its ref with its id. Called
// with d.mu held.
func (d *Daemon) attachRenewals(toks []Token) {
	for i := range toks {
		if toks[i].Ref == "" {
			continue
		}
		if m, ok := d.state.ManagedByRef(toks[i].Ref); ok && m.Current != nil && m.Current.ID == toks[i].ID {
			toks[i].NextRotation = m.RenewAt
		}
	}
}

func findingKeys(toks []Token) map[string]bool {
	out := map[string]bool{}
	for _, t := range toks {
		if t.Ref != "" {
			continue
		}
		for _, f := range t.Findings {
			out[findingKey(t, f.Code)] = true
		}
	}
	return out
}

// findingKey names a finding of a token for the next scan's comparison.
func findingKey(t Token, code string) string { return t.Key().String() + "/" + code }

func activeKeys(toks []Token) map[Key]bool {
	out := map[Key]bool{}
	for _, t := range toks {
		if t.State == gitlab.StateActive {
			out[t.Key()] = true
		}
	}
	return out
}

// checkManaging asks GitLab about the token tokenwarden runs with, keeps
// the answer for the dashboard, metrics and /readyz, and notifies at 30, 7
// and 1 day before it expires and once it is dead. A check GitLab does not
// answer keeps the previous one.
func (d *Daemon) checkManaging(ctx context.Context, cfg *config.Config) {
	now := d.d.Clock.Now()
	st, err := managing.Check(ctx, d.d.GitLab, cfg, now)
	if err != nil {
		if ctx.Err() == nil {
			d.d.Log.Warn("managing token check failed", "err", err)
		}
		return
	}
	d.mu.Lock()
	prev := d.state.Managing
	if st.Level == managing.LevelExpired && prev != nil && st.Token.ID == 0 {
		st.Token = prev.Token // GitLab no longer says what it was: keep what it said
	}
	d.state.Managing = &st
	d.mu.Unlock()
	switch st.Level {
	case managing.LevelExpired:
		d.d.Log.Error("the managing token no longer works", "reason", st.Rejected, "fix", st.ReplaceFix())
	case managing.LevelWarning, managing.LevelCritical:
		d.d.Log.Warn("the managing token expires soon", "expires_at", st.Token.ExpiresAt.Format(time.DateOnly), "fix", st.RenewFix())
	}
	d.notifyManaging(ctx, st, managing.ThresholdsOf(cfg.GitLab))
	d.renewManaging(ctx, cfg, st)
}

// renewManaging renews the managing token once it is inside its renewal
// window (gitlab.self_rotate), then checks it again.
func (d *Daemon) renewManaging(ctx context.Context, cfg *config.Config, st managing.Status) {
	rn := d.d.Renewer
	if rn == nil {
		return
	}
	at, ok := managing.RenewAt(cfg, st)
	if !ok || d.d.Clock.Now().Before(at) {
		return
	}
	rn.Config = cfg
	rot, err := rn.Renew(ctx, st, "expires "+st.Token.ExpiresAt.Format(time.DateOnly)+"; renewal due since "+at.UTC().Format(time.RFC3339))
	if err != nil {
		d.d.Log.Error("renew the managing token", "err", err)
		if rot != nil {
			d.send(ctx, notify.Event{Kind: notify.KindRotationFailed, TokenRef: ManagingRef, RotationID: rot.ID,
				Token: notify.Token{ID: st.Token.ID, Name: st.Token.Name}, Detail: err.Error()})
		}
		return
	}
	d.d.Log.Info("renewed the managing token", "old_token", rot.OldTokenID, "new_token", rot.NewTokenID, "token_file", cfg.GitLab.TokenFile)
	d.send(ctx, notify.Event{Kind: notify.KindRotated, TokenRef: ManagingRef, RotationID: rot.ID,
		Token:  notify.Token{ID: rot.NewTokenID, Name: rot.TokenName, ExpiresAt: rot.NewExpiresAt},
		Detail: fmt.Sprintf("self-rotated: token %d replaced by token %d", rot.OldTokenID, rot.NewTokenID)})
	if st2, err := managing.Check(ctx, d.d.GitLab, cfg, d.d.Clock.Now()); err == nil {
		d.mu.Lock()
		d.state.Managing = &st2
		d.mu.Unlock()
	}
}
