package daemon

import (
	"context"
	"fmt"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// Notifier is where the daemon sends events; *notify.Notifier is one. It must
// return quickly: the scheduler calls it between rotations.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

func (d *Daemon) send(ctx context.Context, e notify.Event) {
	if d.d.Notifier == nil {
		return
	}
	if e.At.IsZero() {
		e.At = d.d.Clock.Now()
	}
	if err := d.d.Notifier.Notify(ctx, e); err != nil {
		d.d.Log.Warn("notify", "event", string(e.Kind), "token", e.Ref(), "err", err)
	}
}

func eventToken(t gitlab.Token) notify.Token {
	return notify.Token{
		ID: t.ID, Kind: t.TokenKind(), Name: t.Name, ResourceType: t.Resource.Type, ResourcePath: t.Resource.Path,
		Scopes: t.Scopes, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt,
	}
}

// notifyOutcome reports a finished or failed rotation.
func (d *Daemon) notifyOutcome(ctx context.Context, o engine.Outcome) {
	r := o.Rotation
	if r == nil {
		return
	}
	tok := notify.Token{ID: r.NewTokenID, Name: r.TokenName, ResourceType: r.ResourceType, ResourcePath: r.ResourcePath, ExpiresAt: r.NewExpiresAt}
	switch o.Status {
	case engine.StatusDone:
		detail := fmt.Sprintf("%s: token %d replaced by token %d", r.Strategy, r.OldTokenID, r.NewTokenID)
		switch {
		case r.Kind == journal.KindDelivery:
			detail = fmt.Sprintf("delivered live token %d's secret to its sinks (no new token)", r.NewTokenID)
		case r.OldTokenID == 0:
			detail = fmt.Sprintf("created token %d", r.NewTokenID)
		}
		d.send(ctx, notify.Event{Kind: notify.KindRotated, TokenRef: r.Ref, Token: tok, RotationID: r.ID, Detail: detail})
	case engine.StatusFailed:
		detail := "rotation failed"
		if o.Err != nil {
			detail = o.Err.Error()
		}
		tok.ID = r.OldTokenID
		d.send(ctx, notify.Event{Kind: notify.KindRotationFailed, TokenRef: r.Ref, Token: tok, RotationID: r.ID, Detail: detail})
	}
}

// notifyScan reports expiring tokens (at th's expiry notices) and expired
// ones, and the findings of unmanaged tokens that the previous scan did not
// have. The notifier de-duplicates, so a token is told about once per
// threshold.
func (d *Daemon) notifyScan(ctx context.Context, toks []Token, th policy.Thresholds, first bool, prevFindings map[string]bool, prevActive map[Key]bool) {
	if d.d.Notifier == nil {
		return
	}
	now := d.d.Clock.Now()
	var selfID int64
	if st := d.State().Managing; st != nil {
		selfID = st.Token.ID
	}
	for _, t := range toks {
		if t.ID == selfID && selfID != 0 && gitlab.AccessTokenKind(t.TokenKind()) {
			continue // notifyManaging tells about it, with the fix
		}
		switch t.State {
		case gitlab.StateActive:
			if t.ExpiresAt == nil {
				break
			}
			if crossed, ok := notify.CrossedThreshold(*t.ExpiresAt, now, th.ExpiryNotices()); ok {
				d.send(ctx, notify.Event{Kind: notify.KindExpiring, TokenRef: t.Ref, Token: eventToken(t.Token), Threshold: crossed,
					Detail: fmt.Sprintf("expires %s", t.ExpiresAt.UTC().Format("2006-01-02"))})
			}
		case gitlab.StateExpired:
			// Only tokens seen alive (or managed ones): an instance full of
			// long-dead tokens should not flood anyone.
			if t.Ref != "" || prevActive[t.Key()] {
				d.send(ctx, notify.Event{Kind: notify.KindExpired, TokenRef: t.Ref, Token: eventToken(t.Token),
					Detail: fmt.Sprintf("expired %s", t.ExpiresAt.UTC().Format("2006-01-02"))})
			}
		}
		if first || t.Ref != "" {
			continue // the first scan has nothing to compare with
		}
		for _, f := range t.Findings {
			if prevFindings[findingKey(t, f.Code)] {
				continue
			}
			d.send(ctx, notify.Event{Kind: notify.KindNewFinding, Token: eventToken(t.Token),
				Finding: &notify.Finding{Code: f.Code, Severity: f.Severity, Message: f.Message, Fix: f.Fix}})
		}
	}
}

// ManagingRef names the managing token in notifications.
const ManagingRef = "tokenwarden's own token (gitlab.token_env / gitlab.token_file)"

// notifyManaging tells people when the managing token crosses th's expiry
// notices, and when it has stopped working. The notifier de-duplicates per
// threshold and token id.
func (d *Daemon) notifyManaging(ctx context.Context, st managing.Status, th managing.Thresholds) {
	if d.d.Notifier == nil {
		return
	}
	tok := notify.Token{ID: st.Token.ID, Name: st.Token.Name, ResourceType: "", ResourcePath: "", Scopes: st.Token.Scopes, ExpiresAt: st.Token.ExpiresAt}
	switch st.Level {
	case managing.LevelExpired:
		d.send(ctx, notify.Event{Kind: notify.KindExpired, TokenRef: ManagingRef, Token: tok,
			Detail: fmt.Sprintf("%s no longer works (%s): every scan, rotation and delivery has stopped. Fix: %s", st.Name(), st.Rejected, st.ReplaceFix())})
	default:
		if st.Token.ExpiresAt == nil {
			return
		}
		if crossed, ok := notify.CrossedThreshold(*st.Token.ExpiresAt, d.d.Clock.Now(), th.ExpiryNotices()); ok {
			d.send(ctx, notify.Event{Kind: notify.KindExpiring, TokenRef: ManagingRef, Token: tok, Threshold: crossed,
				Detail: fmt.Sprintf("%s expires %s. Fix: %s", st.Name(), st.Token.ExpiresAt.UTC().Format("2006-01-02"), st.RenewFix())})
		}
	}
}
