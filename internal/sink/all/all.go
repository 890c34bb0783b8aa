// Package all is the explicit registry of sinks: it maps one configured
// delivery (config.Sink) to the sink that performs it. Adding a sink kind
// means adding a case here, nothing else.
package all

import (
	"errors"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/exec"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
)

// Deps are what sinks need from the outside.
type Deps struct {
	GitLab *gl.Client // the managing client, for gitlab_variable sinks
	Owner  string     // the managed token's reference, for ownership markers
	// Redactor holds every secret of the process; sinks that quote text
	// from outside (a hook's stderr) scrub it with it.
	Redactor *secret.Redactor
}

// New builds the sink s configures.
func New(s config.Sink, deps Deps) (sink.Sink, error) {
	set := 0
	for _, ok := range []bool{s.GitLabVariable != nil, s.File != nil, s.Exec != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("sink: %d kinds set in one delivery (want exactly one of gitlab_variable, file, exec)", set)
	}
	switch {
	case s.GitLabVariable != nil:
		if deps.GitLab == nil {
			return nil, errors.New("sink gitlab-variable: no GitLab client")
		}
		v := s.GitLabVariable
		return gitlabvar.New(gitlabvar.Config{
			Group: v.Group, Project: v.Project, Key: v.Key,
			Masked: v.Masked, Protected: v.Protected, Hidden: v.Hidden, Raw: v.Raw,
			EnvironmentScope: v.EnvironmentScope, Description: v.Description,
		}, deps.GitLab, deps.Owner)
	case s.File != nil:
		f := s.File
		return file.New(file.Config{Path: f.Path, Format: f.Format, Key: f.Key, Mode: f.Mode, AllowSharedDir: f.AllowSharedDir, Newline: f.Newline})
	default:
		e := s.Exec
		return exec.New(exec.Config{Command: e.Command, Env: e.Env, EnvPass: e.EnvPass, Newline: e.Newline, Timeout: e.Timeout, Redactor: deps.Redactor})
	}
}
