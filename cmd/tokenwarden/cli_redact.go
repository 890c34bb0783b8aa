package main

import (
	"context"
	"net/url"
	"os"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// The process has one secret.Redactor: run creates it, puts it in the
// context every command gets, and scrubs the CLI's stdout and stderr with
// it. Each secret is added where the process learns it: the config's
// secrets when the config is loaded (registerConfigSecrets), minted and
// journaled secrets in the journal (journal.Redacting), secrets read from
// a sink or used to verify as they pass.

type redactorKey struct{}

func withRedactor(ctx context.Context, r *secret.Redactor) context.Context {
	return context.WithValue(ctx, redactorKey{}, r)
}

// redactorFrom returns the process redactor, or a fresh one for a context
// that run did not make (a test calling a command directly).
func redactorFrom(ctx context.Context) *secret.Redactor {
	if r, ok := ctx.Value(redactorKey{}).(*secret.Redactor); ok && r != nil {
		return r
	}
	return secret.NewRedactor()
}

// wellKnownSecretEnv are variables that hold a secret whatever the config
// says: the conventional managing token, libpq's password, the dashboard's
// default password variable, the age key.
var wellKnownSecretEnv = []string{"GITLAB_TOKEN", "PGPASSWORD", "TOKENWARDEN_PASSWORD", config.KeyEnv}

// registerConfigSecrets adds every secret cfg names (managing token,
// notification secrets, dashboard password, self tokens' own secrets, a
// database password) and the well-known secret variables to r. A secret that
// cannot be read is skipped: whoever uses it reports that.
func registerConfigSecrets(r *secret.Redactor, cfg *config.Config) {
	for _, name := range wellKnownSecretEnv {
		if v := os.Getenv(name); v != "" {
			r.Add(secret.New(v))
		}
	}
	load := func(env, file string) {
		if env == "" && file == "" {
			return
		}
		if s, err := config.LoadSecret(env, file); err == nil {
			r.Add(s)
		}
	}
	load(cfg.GitLab.TokenEnv, cfg.GitLab.TokenFile)
	for _, n := range cfg.Notify {
		switch {
		case n.Webhook != nil:
			load(n.Webhook.SecretEnv, n.Webhook.SecretFile)
		case n.Slack != nil:
			load(n.Slack.WebhookURLEnv, n.Slack.WebhookURLFile)
		case n.Email != nil:
			load(n.Email.PasswordEnv, n.Email.PasswordFile)
		}
	}
	load(cfg.Serve.PasswordEnv, cfg.Serve.PasswordFile)
	for _, t := range cfg.Tokens {
		load(t.TokenEnv, t.TokenFile)
	}
	// The config refuses a password in the postgres URL; should one come
	// through anyway, it is a secret all the same.
	if u, err := url.Parse(cfg.State); err == nil {
		if pw, ok := u.User.Password(); ok {
			r.Add(secret.New(pw))
		}
		if pw := u.Query().Get("password"); pw != "" {
			r.Add(secret.New(pw))
		}
	}
}

// redactingNotifier scrubs the free text of an event before it leaves for
// a webhook, Slack or mail: it quotes rotation errors.
type redactingNotifier struct {
	n daemon.Notifier
	r *secret.Redactor
}

func (n redactingNotifier) Notify(ctx context.Context, e notify.Event) error {
	e.Detail = n.r.Scrub(e.Detail)
	if e.Finding != nil {
		f := *e.Finding
		f.Message, f.Fix = n.r.Scrub(f.Message), n.r.Scrub(f.Fix)
		e.Finding = &f
	}
	return n.n.Notify(ctx, e)
}

// redactingBackend is the daemon as the dashboard sees it: the free text it
// shows (scan errors, plan reasons and warnings, the managing token's
// rejection, rotation errors) is scrubbed.
type redactingBackend struct {
	d *daemon.Daemon
	r *secret.Redactor
}

func (b redactingBackend) Leading() bool { return b.d.Leading() }

func (b redactingBackend) Ready() bool { return b.d.Ready() }

func (b redactingBackend) State() daemon.State {
	st := b.d.State()
	st.ScanErr = b.r.Scrub(st.ScanErr)
	managed := make([]daemon.Managed, len(st.Managed))
	for i, m := range st.Managed {
		m.Reason, m.Warning, m.Note = b.r.Scrub(m.Reason), b.r.Scrub(m.Warning), b.r.Scrub(m.Note)
		managed[i] = m
	}
	st.Managed = managed
	if st.Managing != nil {
		ms := *st.Managing
		ms.Rejected = b.r.Scrub(ms.Rejected)
		st.Managing = &ms
	}
	return st
}

func (b redactingBackend) RotateNow(ctx context.Context, ref string) (engine.Outcome, error) {
	o, err := b.d.RotateNow(ctx, ref)
	o.Err = b.r.ScrubError(o.Err)
	return o, b.r.ScrubError(err)
}
