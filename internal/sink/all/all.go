// Package all is the registry of sink kinds: it maps each kind a deliver:
// entry can name to its settings (the sink package's own Config, which
// config decodes and validates) and to its constructor. Adding a sink kind
// means a package with a Config and New, and one entry in kinds.
//
// Layering: the sink packages import neither config nor this package;
// config imports no sink. This package registers the kinds' settings with
// config when it is loaded (init), so every program that builds sinks —
// and therefore imports it — reads deliver: entries with them.
package all

import (
	"context"
	"fmt"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/exec"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/kubesecret"
)

// Deps are what sinks need from the outside.
type Deps struct {
	GitLab *gitlab.Client // the managing client, for gitlab_variable sinks
	Owner  string         // the managed token's reference, for ownership markers
	// Redactor holds every secret of the process; sinks that quote text
	// from outside (a hook's stderr) scrub it with it, and every secret
	// that passes through a sink is added to it: what Get reads (an
	// adopted token's current value) and what Put delivers. nil: none.
	Redactor *secret.Redactor
}

// kind is one sink kind: its settings, with their defaults, and how to
// build the sink from them.
type kind struct {
	settings func() config.SinkSettings
	build    func(config.SinkSettings, Deps) (sink.Sink, error)
}

// kindOf binds a sink package's Config (behind *C) to its constructor.
func kindOf[C any, PC interface {
	*C
	config.SinkSettings
}](defaults func() PC, build func(C, Deps) (sink.Sink, error)) kind {
	return kind{
		settings: func() config.SinkSettings { return defaults() },
		build: func(s config.SinkSettings, deps Deps) (sink.Sink, error) {
			c, ok := s.(PC)
			if !ok || c == nil {
				return nil, fmt.Errorf("sink: settings %T are not %T", s, c)
			}
			return build(*c, deps)
		},
	}
}

// kinds by the key a deliver: entry uses.
var kinds = map[string]kind{
	"gitlab_variable": kindOf(gitlabvar.DefaultConfig, func(c gitlabvar.Config, deps Deps) (sink.Sink, error) {
		return gitlabvar.New(c, deps.GitLab, deps.Owner)
	}),
	"file": kindOf(file.DefaultConfig, func(c file.Config, _ Deps) (sink.Sink, error) {
		return file.New(c)
	}),
	"exec": kindOf(exec.DefaultConfig, func(c exec.Config, deps Deps) (sink.Sink, error) {
		c.Redactor = deps.Redactor
		return exec.New(c)
	}),
	"kubernetes_secret": kindOf(kubesecret.DefaultConfig, func(c kubesecret.Config, deps Deps) (sink.Sink, error) {
		gitlabURL := ""
		if deps.GitLab != nil {
			gitlabURL = deps.GitLab.BaseURL()
		}
		return kubesecret.New(c, deps.Owner, gitlabURL)
	}),
}

func init() {
	for name, k := range kinds {
		config.RegisterSinkKind(name, k.settings)
	}
}

// New builds the sink s configures.
func New(s config.Sink, deps Deps) (sink.Sink, error) {
	k, ok := kinds[s.Kind]
	if !ok {
		return nil, fmt.Errorf("sink: unknown kind %q", s.Kind)
	}
	built, err := k.build(s.Settings, deps)
	if err != nil || deps.Redactor == nil {
		return built, err
	}
	return registering{Sink: built, r: deps.Redactor}, nil
}

// NewAll builds the sinks of a list of deliver: entries, in order.
func NewAll(ds []config.Sink, deps Deps) ([]sink.Sink, error) {
	out := make([]sink.Sink, 0, len(ds))
	for _, d := range ds {
		s, err := New(d, deps)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// registering adds every secret that passes through a sink to the redactor.
type registering struct {
	sink.Sink
	r *secret.Redactor
}

func (s registering) Get(ctx context.Context) (secret.Credential, error) {
	v, err := s.Sink.Get(ctx)
	s.r.Add(v.Token)
	return v, err
}

func (s registering) Put(ctx context.Context, v secret.Credential) (bool, error) {
	s.r.Add(v.Token)
	return s.Sink.Put(ctx, v)
}
