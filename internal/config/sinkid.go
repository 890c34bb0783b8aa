package config

import "strings"

// ID names the sink stably, for the journal's list of delivered sinks and
// for messages: "gitlab_variable:project/a/b:KEY@*", "file:/etc/app.env#KEY",
// "exec:systemctl reload app". It holds no secret.
func (s Sink) ID() string {
	switch {
	case s.GitLabVariable != nil:
		g := s.GitLabVariable
		res := "group/" + g.Group
		if g.Project != "" {
			res = "project/" + g.Project
		}
		return "gitlab_variable:" + res + ":" + g.Key + "@" + g.EnvironmentScope
	case s.File != nil:
		id := "file:" + s.File.Path
		if s.File.Key != "" {
			id += "#" + s.File.Key
		}
		return id
	case s.Exec != nil:
		return "exec:" + strings.Join(s.Exec.Command, " ")
	}
	return ""
}
