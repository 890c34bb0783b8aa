package all_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/all"
)

func TestNewMapsEveryKind(t *testing.T) {
	srv, base := simtest.Start(t, sim.Options{RootToken: "glpat-rootrootrootrootroot"})
	g, _ := srv.CreateGroup("platform", 0)
	p, _ := srv.CreateProject("app", g.ID)
	c, err := gitlab.New(gitlab.Config{URL: base, Token: secret.New("glpat-rootrootrootrootroot")})
	if err != nil {
		t.Fatal(err)
	}
	deps := all.Deps{GitLab: c.API, Owner: "platform:deploy"}
	dir := t.TempDir()
	tests := []struct {
		name   string
		cfg    config.Sink
		wantID string
	}{
		{"gitlab variable", config.Sink{GitLabVariable: &config.GitLabVariableSink{Project: p.PathWithNamespace, Key: "T", Masked: true, EnvironmentScope: "*"}},
			"gitlab_variable:project:platform/app:T:*"},
		{"file", config.Sink{File: &config.FileSink{Path: filepath.Join(dir, "app.env"), Format: "dotenv", Key: "T", Mode: 0o600}},
			"file:" + filepath.Join(dir, "app.env") + "#T"},
		{"exec", config.Sink{Exec: &config.ExecSink{Command: []string{"sh", "-c", "cat > " + filepath.Join(dir, "out")}, Timeout: time.Second}},
			"exec:sh -c cat > " + filepath.Join(dir, "out")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := all.New(tt.cfg, deps)
			if err != nil {
				t.Fatal(err)
			}
			if s.ID() != tt.wantID {
				t.Errorf("ID %q, want %q", s.ID(), tt.wantID)
			}
			if _, err := s.Put(context.Background(), secret.New("glpat-AAAAAAAAAAAAAAAAAAAA")); err != nil {
				t.Fatalf("Put through the registry: %v", err)
			}
		})
	}
	if v, ok := srv.Variable("project", p.ID, "T", "*"); !ok || !v.Masked {
		t.Errorf("variable %+v: not created masked", v)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  config.Sink
		deps all.Deps
		want string
	}{
		{"nothing set", config.Sink{}, all.Deps{}, "0 kinds"},
		{"two kinds", config.Sink{File: &config.FileSink{Path: "/x", Format: "raw"}, Exec: &config.ExecSink{Command: []string{"true"}}}, all.Deps{}, "2 kinds"},
		{"variable without client", config.Sink{GitLabVariable: &config.GitLabVariableSink{Project: "a/b", Key: "K"}}, all.Deps{Owner: "o"}, "no GitLab client"},
		{"invalid file sink", config.Sink{File: &config.FileSink{Path: "/x", Format: "toml"}}, all.Deps{}, "sink file: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := all.New(tt.cfg, tt.deps); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
		})
	}
}
