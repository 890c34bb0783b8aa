package all_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/all"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/exec"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
)

func TestNewMapsEveryKind(t *testing.T) {
	srv, base := simtest.Start(t, sim.Options{RootToken: "glpat-rootrootrootrootroot"})
	g, _ := srv.CreateGroup("platform", 0)
	p, _ := srv.CreateProject("app", g.ID)
	c, err := gitlab.New(gitlab.Config{URL: base, Token: secret.New("glpat-rootrootrootrootroot")})
	if err != nil {
		t.Fatal(err)
	}
	deps := all.Deps{GitLab: c, Owner: "platform:deploy"}
	dir := t.TempDir()
	// The sinks come from a config file, as in production: config decodes
	// each entry into the kind's own Config, all builds the sink.
	cfg, err := config.Parse(filepath.Join(dir, "tw.yaml"), []byte(`gitlab: {url: https://gitlab.example.com, token_env: GITLAB_TOKEN}
tokens:
  - name: deploy
    project: platform/app
    scopes: [api]
    deliver:
      - gitlab_variable: {project: platform/app, key: T, masked: true}
      - file: {path: app.env, key: T}
      - exec: {command: [sh, -c, "cat > '`+filepath.Join(dir, "out")+`'"], timeout: 1s}
`))
	if err != nil {
		t.Fatal(err)
	}
	ds := cfg.Tokens[0].Deliver
	// The IDs are what journals record in a rotation's delivered list:
	// their format must not change.
	tests := []struct {
		name   string
		cfg    config.Sink
		wantID string
	}{
		{"gitlab variable", ds[0], "gitlab_variable:project:platform/app:T:*"},
		{"file", ds[1], "file:" + filepath.Join(dir, "app.env") + "#T"},
		{"exec", ds[2], "exec:sh -c cat > '" + filepath.Join(dir, "out") + "'"},
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
			if _, err := s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-AAAAAAAAAAAAAAAAAAAA"))); err != nil {
				t.Fatalf("Put through the registry: %v", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "app.env")); err != nil {
		t.Errorf("file sink: %v", err)
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
		{"nothing set", config.Sink{}, all.Deps{}, `unknown kind ""`},
		{"settings of another kind", config.Sink{Kind: "file", Settings: &exec.Config{Command: []string{"true"}}}, all.Deps{}, "are not *file.Config"},
		{"variable without client", config.Sink{Kind: "gitlab_variable", Settings: &gitlabvar.Config{Project: "a/b", Key: "K"}}, all.Deps{Owner: "o"}, "no GitLab client"},
		{"invalid file sink", config.Sink{Kind: "file", Settings: &file.Config{Path: "/x", Format: "toml"}}, all.Deps{}, "sink file: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := all.New(tt.cfg, tt.deps); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
		})
	}
}

// With a redactor, every secret that passes through a sink is added to it:
// what Put delivers and what Get reads back (an adopted token's value that
// tokenwarden never minted).
func TestNewAllRegistersSecrets(t *testing.T) {
	dir := t.TempDir()
	read := filepath.Join(dir, "read.token")
	simtest.WriteFile(t, read, "glpat-READREADREADREADREAD")
	red := secret.NewRedactor()
	ss, err := all.NewAll([]config.Sink{
		{Kind: "file", Settings: &file.Config{Path: filepath.Join(dir, "put.token"), Format: file.FormatRaw}},
		{Kind: "file", Settings: &file.Config{Path: read, Format: file.FormatRaw}},
	}, all.Deps{Redactor: red})
	if err != nil || len(ss) != 2 {
		t.Fatalf("NewAll: %d sinks, %v", len(ss), err)
	}
	if _, err := ss[0].Put(context.Background(), secret.TokenOnly(secret.New("glpat-PUTPUTPUTPUTPUTPUTPUT"))); err != nil {
		t.Fatal(err)
	}
	if _, err := ss[1].Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := red.Scrub("put glpat-PUTPUTPUTPUTPUTPUTPUT read glpat-READREADREADREADREAD"); got != "put [REDACTED] read [REDACTED]" {
		t.Errorf("scrubbed: %q", got)
	}
	if _, err := all.NewAll([]config.Sink{{Kind: "file", Settings: &file.Config{Path: "/x", Format: "toml"}}}, all.Deps{}); err == nil {
		t.Error("NewAll accepted an invalid sink")
	}
}
