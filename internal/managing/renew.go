package managing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
)

// Ref is the managing token's name in the journal.
const Ref = "gitlab:managing-token"

// TokenFileSinkID is the journal's name for gitlab.token_file as a delivery.
const TokenFileSinkID = "token_file"

// Renewer renews the managing token with GitLab's self-rotate endpoint
// (gitlab.self_rotate), crash-safe through the journal:
//
//   - a rotation row (ref gitlab:managing-token) is created before GitLab is
//     asked;
//   - the new secret is sealed in the journal (step minted) before it is
//     used for anything;
//   - it is written to gitlab.token_file atomically (temp file, fsync,
//     rename, mode 0600; step delivered), and the client switches to it;
//   - the consumers under gitlab.deliver get it; it is verified (GET
//     /personal_access_tokens/self); done.
//
// Recover, at every start, carries an unfinished renewal on and, when
// token_file holds a token GitLab refuses, takes the newest secret from the
// journal, logs that, and rewrites the file.
type Renewer struct {
	Client *gitlab.Client // the managing client; SetToken is called on it
	Store  journal.Store
	Clock  clock.Clock
	Log    *slog.Logger
	Config *config.Config
	// Sinks builds gitlab.deliver's sinks.
	Sinks func([]config.Sink) ([]sink.Sink, error)
	// Fault is the engine's crash hook (tests): called before and after
	// each step is committed.
	Fault journal.Fault
}

// ErrLost is wrapped when GitLab rotated the managing token but its answer
// (the only copy of the new secret) never reached the journal: tokenwarden
// cannot go on until a person gives it a working token. The error says how.
var ErrLost = errors.New("the renewed managing token's secret was lost")

// Policy is the renewal window of the managing token: gitlab.lifetime /
// rotate_before, else the config's defaults, as for managed tokens.
func Policy(cfg *config.Config) schedule.Policy {
	p := schedule.Policy{Lifetime: cfg.GitLab.Lifetime, RotateBefore: cfg.GitLab.RotateBefore}
	if p.Lifetime == 0 {
		p.Lifetime, p.RotateBefore = cfg.Defaults.Lifetime, cfg.Defaults.RotateBefore
		if p.Lifetime == 0 {
			p.Lifetime = config.DefaultLifetime
		}
	}
	return p
}

// RenewAt is when the managing token of st is renewed (false: never
// expires, or self_rotate is off).
func RenewAt(cfg *config.Config, st Status) (time.Time, bool) {
	if !cfg.GitLab.SelfRotate || st.Level == LevelExpired {
		return time.Time{}, false
	}
	return schedule.RenewAt(st.Token.ExpiresAt, Policy(cfg))
}

func (rn *Renewer) log() *slog.Logger {
	if rn.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rn.Log
}

func (rn *Renewer) steps() journal.Steps {
	return journal.Steps{Store: rn.Store, Now: rn.Clock.Now, Fault: rn.Fault, Log: rn.log(), Msg: "managing token renewal step"}
}

func (rn *Renewer) commit(ctx context.Context, r *journal.Rotation, step journal.Step, detail string) error {
	return rn.steps().Commit(ctx, r, step, detail)
}

// alive reports whether GitLab accepts s (GET /personal_access_tokens/self,
// never a rotate endpoint: presenting a revoked secret there would make
// GitLab revoke its successor too).
func (rn *Renewer) alive(ctx context.Context, s secret.Secret) (gitlab.Token, bool, error) {
	c, err := gitlab.New(gitlab.Config{URL: rn.Config.GitLab.URL, Token: s, Clock: rn.Clock, Timeout: rn.Config.GitLab.Timeout})
	if err != nil {
		return gitlab.Token{}, false, err
	}
	t, err := c.SelfToken(ctx)
	if errors.Is(err, gitlab.ErrTokenRejected) {
		return gitlab.Token{}, false, nil
	}
	if err != nil {
		return gitlab.Token{}, false, err
	}
	return t, true, nil
}

// unfinished is the managing token's unfinished renewal, or nil.
func (rn *Renewer) unfinished(ctx context.Context) (*journal.Rotation, error) {
	list, err := rn.Store.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		if r.Ref == Ref {
			return r, nil
		}
	}
	return nil, nil
}

// Recover runs at start, before anything else talks to GitLab: it finishes
// an unfinished renewal and, when token_file holds a dead token, takes the
// newest working secret from the journal (and rewrites the file). It returns
// an error wrapping ErrLost, with the manual fix, when GitLab renewed the
// token but the new secret never reached the journal.
func (rn *Renewer) Recover(ctx context.Context) error {
	cur, err := rn.Config.GitLab.LoadToken()
	if err != nil {
		return err
	}
	_, ok, err := rn.alive(ctx, cur)
	if err != nil {
		return fmt.Errorf("check the managing token: %w", err)
	}
	r, err := rn.unfinished(ctx)
	if err != nil {
		return err
	}
	if r != nil {
		if r.Step == journal.StepPlanned {
			if ok {
				// GitLab never rotated (the request failed before it did):
				// the token in token_file is still the live one.
				r.Error = "the rotate request did not go through; the token in token_file still works"
				return rn.commit(ctx, r, journal.StepFailed, r.Error)
			}
			return rn.lost(r)
		}
		if !cur.Equal(r.NewSecret) {
			rn.log().Warn("gitlab.token_file does not hold the newest managing token; continuing the renewal from the journal",
				"rotation", r.ID, "token_file", rn.Config.GitLab.TokenFile)
		}
		return rn.finish(ctx, r)
	}
	if ok {
		return nil
	}
	// token_file holds a dead token: the newest renewal in the journal may
	// hold a working one (a crash after the journal, before the file).
	last, err := rn.lastDone(ctx)
	if err != nil {
		return err
	}
	if last == nil || last.NewSecret.Equal(cur) {
		return nil // nothing better; the check that follows reports the dead token
	}
	if _, ok, err := rn.alive(ctx, last.NewSecret); err != nil || !ok {
		return err
	}
	rn.log().Warn("gitlab.token_file held a dead token; using the newest managing token from the journal and rewriting the file",
		"rotation", last.ID, "token_id", last.NewTokenID, "token_file", rn.Config.GitLab.TokenFile)
	if err := rn.writeFile(ctx, last.NewSecret); err != nil {
		return err
	}
	rn.Client.SetToken(last.NewSecret)
	return nil
}

// lastDone is the newest finished renewal with its secret, or nil.
func (rn *Renewer) lastDone(ctx context.Context) (*journal.Rotation, error) {
	list, err := rn.Store.List(ctx, journal.Filter{Ref: Ref, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		if r.Step == journal.StepDone && r.NewTokenID != 0 {
			return rn.Store.Get(ctx, r.ID)
		}
	}
	return nil, nil
}

// lost is the error for a renewal GitLab made whose answer was lost.
func (rn *Renewer) lost(r *journal.Rotation) error {
	return fmt.Errorf("%w: GitLab rotated the managing token %q (id %d, rotation %s) but its answer never arrived, and the old secret in %s is revoked. "+
		"Fix: in GitLab, rotate the active token named %q that replaced token %d (its Access tokens page, or with another Owner's or an administrator's token: POST /api/v4/personal_access_tokens/<id>/rotate, or …/access_tokens/<id>/rotate of its group or project), "+
		"write the new secret into %s, and run `tokenwarden apply -c %s`. Do not present the old secret to any …/rotate endpoint: GitLab's token reuse detection would revoke its successor too",
		ErrLost, r.TokenName, r.OldTokenID, r.ID, rn.Config.GitLab.TokenFile, r.TokenName, r.OldTokenID, rn.Config.GitLab.TokenFile, rn.Config.Path)
}

// Renew renews the managing token now. st is its last check.
func (rn *Renewer) Renew(ctx context.Context, st Status, reason string) (*journal.Rotation, error) {
	r := &journal.Rotation{
		Ref: Ref, Kind: journal.KindRotation, Strategy: string(config.StrategySelf), ResourceType: "user",
		TokenName: st.Token.Name, OldTokenID: st.Token.ID, Reason: reason,
	}
	if err := rn.Store.Create(ctx, r); err != nil {
		return nil, err
	}
	if err := rn.steps().At(r, journal.StepPlanned, true); err != nil {
		return r, err
	}
	expires := schedule.ExpiresAtFor(rn.Clock.Now(), Policy(rn.Config).Lifetime)
	nt, sec, err := rn.Client.RotateSelf(ctx, expires)
	if err != nil {
		// Did GitLab rotate? Ask with the old secret (a read: no reuse
		// detection). Still alive: nothing happened, try again later.
		cur, _ := rn.Config.GitLab.LoadToken()
		if _, ok, aerr := rn.alive(context.WithoutCancel(ctx), cur); aerr == nil && ok {
			r.Error = err.Error()
			if cerr := rn.commit(ctx, r, journal.StepFailed, "rotate failed: "+err.Error()); cerr != nil {
				err = errors.Join(err, cerr)
			}
			return r, err
		}
		return r, errors.Join(err, rn.lost(r))
	}
	r.NewTokenID, r.NewSecret, r.NewExpiresAt = nt.ID, sec, nt.ExpiresAt
	detail := fmt.Sprintf("self-rotated into token %d", nt.ID)
	if nt.ExpiresAt != nil {
		detail += ", expires " + nt.ExpiresAt.Format(time.DateOnly)
	}
	if err := rn.commit(ctx, r, journal.StepMinted, detail); err != nil {
		return r, err
	}
	return r, rn.finish(ctx, r)
}

// finish takes a renewal whose secret is in the journal to done: token_file,
// the client, gitlab.deliver, verify.
func (rn *Renewer) finish(ctx context.Context, r *journal.Rotation) error {
	if !slices.Contains(r.Delivered, TokenFileSinkID) {
		if err := rn.writeFile(ctx, r.NewSecret); err != nil {
			return err
		}
		r.Delivered = append(r.Delivered, TokenFileSinkID)
		if err := rn.commit(ctx, r, journal.StepDelivered, "written to "+rn.Config.GitLab.TokenFile); err != nil {
			return err
		}
	}
	rn.Client.SetToken(r.NewSecret)
	sinks, err := rn.sinks()
	if err != nil {
		return err
	}
	meta := sink.Meta{TokenName: r.TokenName}
	if r.NewExpiresAt != nil {
		meta.ExpiresAt = *r.NewExpiresAt
	}
	for _, s := range sinks {
		if slices.Contains(r.Delivered, s.ID()) {
			continue
		}
		if _, err := s.Put(sink.WithMeta(ctx, meta), secret.TokenOnly(r.NewSecret)); err != nil {
			return fmt.Errorf("deliver the managing token to %s: %w", s.Describe(), err)
		}
		r.Delivered = append(r.Delivered, s.ID())
		if err := rn.commit(ctx, r, journal.StepDelivered, "delivered to "+s.Describe()); err != nil {
			return err
		}
	}
	if r.Step != journal.StepVerified {
		t, ok, err := rn.alive(ctx, r.NewSecret)
		if err != nil {
			return err
		}
		if !ok || t.ID != r.NewTokenID {
			return fmt.Errorf("the renewed managing token %d does not work (GitLab refuses it)", r.NewTokenID)
		}
		if err := rn.commit(ctx, r, journal.StepVerified, fmt.Sprintf("token %d answers GET /personal_access_tokens/self", t.ID)); err != nil {
			return err
		}
	}
	return rn.commit(ctx, r, journal.StepDone, fmt.Sprintf("GitLab revoked token %d when it rotated it", r.OldTokenID))
}

func (rn *Renewer) sinks() ([]sink.Sink, error) {
	if rn.Sinks == nil || len(rn.Config.GitLab.Deliver) == 0 {
		return nil, nil
	}
	return rn.Sinks(rn.Config.GitLab.Deliver)
}

// writeFile replaces token_file atomically (temp file, fsync, rename, 0600).
func (rn *Renewer) writeFile(ctx context.Context, s secret.Secret) error {
	f, err := file.New(file.Config{Path: rn.Config.GitLab.TokenFile, Format: file.FormatRaw, Mode: file.DefaultMode})
	if err != nil {
		return err
	}
	if _, err := f.Put(ctx, secret.TokenOnly(s)); err != nil {
		return fmt.Errorf("write gitlab.token_file: %w", err)
	}
	return nil
}
