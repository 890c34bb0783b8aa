package gitlabvar_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/sinktest"
)

var rootToken = simtest.RootToken

type fixture struct {
	srv   *sim.Server
	base  string
	api   *gitlab.Client
	group sim.Group
	n     atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv, base := simtest.Start(t, sim.Options{RootToken: rootToken})
	g, err := srv.CreateGroup("platform", 0)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, base: base, api: client(t, base, rootToken), group: g}
}

func client(t *testing.T, base, token string) *gitlab.Client {
	t.Helper()
	c, err := gitlab.New(gitlab.Config{URL: base, Token: secret.New(token), RetryMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// project makes a fresh project and returns it.
func (f *fixture) project(t *testing.T) sim.Project {
	t.Helper()
	p, err := f.srv.CreateProject(fmt.Sprintf("app%d", f.n.Add(1)), f.group.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) breakWrites(t *testing.T, _ sink.Sink) func() {
	f.srv.Faults().ResetConnection("PUT", `/variables/`, 1000)
	f.srv.Faults().ResetConnection("POST", `/variables`, 1000)
	return f.srv.Faults().Clear
}

func TestConformance(t *testing.T) {
	f := newFixture(t)
	newSink := func(cfg gitlabvar.Config) func(t *testing.T) sink.Sink {
		return func(t *testing.T) sink.Sink {
			s, err := gitlabvar.New(cfg, f.api, "platform:deploy")
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	inProject := func(cfg gitlabvar.Config, projects *sync.Map) func(t *testing.T) sink.Sink {
		return func(t *testing.T) sink.Sink {
			p := f.project(t)
			cfg := cfg
			cfg.Project = p.PathWithNamespace
			s := newSink(cfg)(t)
			if projects != nil {
				projects.Store(s, p.ID)
			}
			return s
		}
	}
	t.Run("project", func(t *testing.T) {
		cfg := gitlabvar.Config{Key: "REGISTRY_TOKEN", Masked: true, Protected: true}
		two := cfg
		two.UsernameKey = "REGISTRY_USER"
		sinktest.Run(t, inProject(cfg, nil), sinktest.Options{Readable: true, Comparable: true, BreakNextPut: f.breakWrites,
			NewTwoValue: inProject(two, nil)})
	})
	t.Run("group", func(t *testing.T) {
		var n atomic.Int64
		inGroup := func(usernameKey bool) func(t *testing.T) sink.Sink {
			return func(t *testing.T) sink.Sink {
				i := n.Add(1)
				cfg := gitlabvar.Config{Group: "platform", Key: fmt.Sprintf("GROUP_TOKEN_%d", i), EnvironmentScope: "production"}
				if usernameKey {
					cfg.UsernameKey = fmt.Sprintf("GROUP_USER_%d", i)
				}
				return newSink(cfg)(t)
			}
		}
		sinktest.Run(t, inGroup(false), sinktest.Options{Readable: true, Comparable: true, BreakNextPut: f.breakWrites,
			NewTwoValue: inGroup(true)})
	})
	t.Run("hidden", func(t *testing.T) {
		projects := &sync.Map{} // sink → project id
		cfg := gitlabvar.Config{Key: "HIDDEN_TOKEN", Hidden: true}
		two := cfg
		two.UsernameKey = "HIDDEN_USER"
		sinktest.Run(t, inProject(cfg, projects), sinktest.Options{
			NewTwoValue: inProject(two, projects),
			Observe: func(t *testing.T, s sink.Sink) (secret.Credential, error) {
				id, _ := projects.Load(s)
				v, ok := f.srv.Variable("project", id.(int64), "HIDDEN_TOKEN", "*")
				if !ok {
					return secret.Credential{}, sink.ErrNotFound
				}
				c := secret.TokenOnly(secret.New(v.Value))
				if u, ok := f.srv.Variable("project", id.(int64), "HIDDEN_USER", "*"); ok {
					c.Username = u.Value
				}
				return c, nil
			},
			BreakNextPut: f.breakWrites,
		})
	})
}

const tok = "glpat-AAAAAAAAAAAAAAAAAAAA"

func TestCreateKeepsConfiguredAttributes(t *testing.T) {
	f := newFixture(t)
	p := f.project(t)
	s, err := gitlabvar.New(gitlabvar.Config{Project: p.PathWithNamespace, Key: "REGISTRY_TOKEN", Masked: true, Protected: true, Raw: true,
		EnvironmentScope: "production", Description: "pulls images"}, f.api, "platform/infra:deploy-registry-read")
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok))); err != nil || !changed {
		t.Fatalf("Put = %v, %v", changed, err)
	}
	v, ok := f.srv.Variable("project", p.ID, "REGISTRY_TOKEN", "production")
	want := sim.Variable{Key: "REGISTRY_TOKEN", Value: tok, VariableType: "env_var", Protected: true, Masked: true, Raw: true,
		EnvironmentScope: "production", Description: "pulls images; managed by tokenwarden (platform/infra:deploy-registry-read)"}
	if !ok || v != want {
		t.Fatalf("variable in GitLab:\n%+v\nwant\n%+v", v, want)
	}
	if got := s.ID(); got != "gitlab_variable:project:"+p.PathWithNamespace+":REGISTRY_TOKEN:production" {
		t.Errorf("ID %q", got)
	}
}

// existing creates a variable the way a person would, outside tokenwarden.
func existing(t *testing.T, c *gitlab.Client, project string, v gitlab.Variable) {
	t.Helper()
	if v.Scope == "" {
		v.Scope = "*"
	}
	if _, err := c.CreateVariable(context.Background(), gitlab.Resource{Type: "project", Path: project}, v); err != nil {
		t.Fatal(err)
	}
}

func TestExistingVariables(t *testing.T) {
	tests := []struct {
		name       string
		before     gitlab.Variable
		cfg        gitlabvar.Config
		wantErr    string // "" → Put succeeds
		wantChange bool
		wantDesc   string
		wantValue  string
	}{
		{"unmarked variable is adopted, its description kept",
			gitlab.Variable{Value: "glpat-oldoldoldoldoldoldol", Description: "legacy token"},
			gitlabvar.Config{Key: "K"}, "", true, "legacy token; managed by tokenwarden (me:tok)", tok},
		{"configured description replaces the old one",
			gitlab.Variable{Value: "glpat-oldoldoldoldoldoldol", Description: "legacy token"},
			gitlabvar.Config{Key: "K", Description: "new text"}, "", true, "new text; managed by tokenwarden (me:tok)", tok},
		{"same value and attributes: nothing written",
			gitlab.Variable{Value: tok, Description: "managed by tokenwarden (me:tok)"},
			gitlabvar.Config{Key: "K"}, "", false, "managed by tokenwarden (me:tok)", tok},
		{"same value, attribute drift: fixed",
			gitlab.Variable{Value: tok, Description: "managed by tokenwarden (me:tok)"},
			gitlabvar.Config{Key: "K", Protected: true}, "", true, "managed by tokenwarden (me:tok)", tok},
		{"another token's variable is refused",
			gitlab.Variable{Value: "glpat-otherotherotherothe", Description: "x; managed by tokenwarden (other:tok)"},
			gitlabvar.Config{Key: "K"}, "managed by tokenwarden for other:tok", false, "x; managed by tokenwarden (other:tok)", "glpat-otherotherotherothe"},
		{"a hidden variable cannot become visible",
			gitlab.Variable{Value: "glpat-oldoldoldoldoldoldol", Hidden: true},
			gitlabvar.Config{Key: "K", Masked: true}, "is hidden but configured visible", false, "", "glpat-oldoldoldoldoldoldol"},
		{"a visible variable cannot become hidden",
			gitlab.Variable{Value: "glpat-oldoldoldoldoldoldol"},
			gitlabvar.Config{Key: "K", Hidden: true}, "is visible but configured hidden", false, "", "glpat-oldoldoldoldoldoldol"},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.project(t)
			tt.before.Key = "K"
			existing(t, f.api, p.PathWithNamespace, tt.before)
			tt.cfg.Project = p.PathWithNamespace
			s, err := gitlabvar.New(tt.cfg, f.api, "me:tok")
			if err != nil {
				t.Fatal(err)
			}
			changed, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok)))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Put: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || problem.Hint(err) == ""):
				t.Fatalf("Put: %v (hint %q), want an error containing %q with a hint", err, problem.Hint(err), tt.wantErr)
			}
			if changed != tt.wantChange {
				t.Errorf("changed = %v, want %v", changed, tt.wantChange)
			}
			v, _ := f.srv.Variable("project", p.ID, "K", "*")
			if v.Value != tt.wantValue || v.Description != tt.wantDesc || v.Protected != tt.cfg.Protected {
				t.Errorf("variable now: value %q description %q protected %v; want %q, %q, %v", v.Value, v.Description, v.Protected, tt.wantValue, tt.wantDesc, tt.cfg.Protected)
			}
		})
	}
}

func TestEnvironmentScopesAreSeparate(t *testing.T) {
	f := newFixture(t)
	p := f.project(t)
	existing(t, f.api, p.PathWithNamespace, gitlab.Variable{Key: "K", Value: "glpat-starstarstarstarstar"})
	existing(t, f.api, p.PathWithNamespace, gitlab.Variable{Key: "K", Value: "glpat-prodprodprodprodprod", Scope: "production"})
	s, _ := gitlabvar.New(gitlabvar.Config{Project: p.PathWithNamespace, Key: "K", EnvironmentScope: "production"}, f.api, "me:tok")
	if _, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok))); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.srv.Variable("project", p.ID, "K", "production"); v.Value != tok {
		t.Errorf("production scope holds %q", v.Value)
	}
	if v, _ := f.srv.Variable("project", p.ID, "K", "*"); v.Value != "glpat-starstarstarstarstar" {
		t.Errorf("the * scope was touched: %q", v.Value)
	}
}

func TestTwoSinksCreateTheSameVariableAtOnce(t *testing.T) {
	f := newFixture(t)
	p := f.project(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		s, _ := gitlabvar.New(gitlabvar.Config{Project: p.PathWithNamespace, Key: "K"}, client(t, f.base, rootToken), "me:tok")
		wg.Go(func() { _, errs[i] = s.Put(context.Background(), secret.TokenOnly(secret.New(tok))) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("Put: %v", err)
		}
	}
}

func TestErrorsExplainThemselves(t *testing.T) {
	f := newFixture(t)
	p := f.project(t)
	dev, err := f.srv.CreateUser("dev", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AddMember("project", p.ID, dev.ID, 30); err != nil {
		t.Fatal(err)
	}
	_, devToken, err := f.srv.CreatePersonalToken(dev.ID, sim.TokenSpec{Name: "dev", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cfg      gitlabvar.Config
		token    string
		value    string
		want     string
		wantHint string
	}{
		{"developer cannot write variables", gitlabvar.Config{Project: p.PathWithNamespace, Key: "K"}, devToken, tok, "403", "Maintainer role on project " + p.PathWithNamespace},
		{"missing project", gitlabvar.Config{Project: "platform/nope", Key: "K"}, rootToken, tok, "project platform/nope not found", "check the project path"},
		{"bad managing token", gitlabvar.Config{Project: p.PathWithNamespace, Key: "K"}, "glpat-wrongwrongwrongwrong", tok, "the token was rejected", "invalid, expired or revoked"},
		{"value GitLab cannot mask", gitlabvar.Config{Project: p.PathWithNamespace, Key: "K", Masked: true}, rootToken, "short", "cannot be masked", "at least 8 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := gitlabvar.New(tt.cfg, client(t, f.base, tt.token), "me:tok")
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Put(context.Background(), secret.TokenOnly(secret.New(tt.value)))
			if err == nil {
				t.Fatal("Put succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "sink gitlab-variable: CI/CD variable K") || !strings.Contains(msg, tt.want) || !strings.Contains(problem.Hint(err), tt.wantHint) {
				t.Errorf("error %q, hint %q; want %q and hint %q", msg, problem.Hint(err), tt.want, tt.wantHint)
			}
			if strings.Contains(msg, tt.value) || strings.Contains(msg, tt.token) {
				t.Errorf("error leaks a secret: %q", msg)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	api := client(t, "http://127.0.0.1:1", rootToken)
	for _, tt := range []struct {
		name  string
		cfg   gitlabvar.Config
		owner string
		want  string
	}{
		{"neither group nor project", gitlabvar.Config{Key: "K"}, "o", "group or project is required"},
		{"both", gitlabvar.Config{Group: "g", Project: "g/p", Key: "K"}, "o", "both group and project are set"},
		{"not a path", gitlabvar.Config{Project: "https://gitlab.example.com/g/p", Key: "K"}, "o", "is not a GitLab path"},
		{"bad key", gitlabvar.Config{Project: "g/p", Key: "A-B"}, "o", `invalid key "A-B"`},
		{"no owner", gitlabvar.Config{Project: "g/p", Key: "K"}, "", "owner"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := gitlabvar.New(tt.cfg, api, tt.owner); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
		})
	}
}

// The username's variable is written first: when the token's write then
// fails, the error says which variable holds what, and the next Put writes
// only the token — it converges without writing the username again.
func TestUsernameThenTokenConverges(t *testing.T) {
	f := newFixture(t)
	p := f.project(t)
	s, err := gitlabvar.New(gitlabvar.Config{Project: p.PathWithNamespace, Key: "REGISTRY_TOKEN", UsernameKey: "REGISTRY_USER", Masked: true, Protected: true}, f.api, "platform:deploy")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := secret.Credential{Username: "gitlab+deploy-token-1", Token: secret.New("gldt-oldoldoldoldoldoldold")}
	next := secret.Credential{Username: "gitlab+deploy-token-2", Token: secret.New("gldt-newnewnewnewnewnewnew")}
	if _, err := s.Put(ctx, old); err != nil {
		t.Fatal(err)
	}
	f.srv.Faults().ResetConnection("PUT", `/variables/REGISTRY_TOKEN`, 1000)
	changed, err := s.Put(ctx, next)
	f.srv.Faults().Clear()
	if err == nil || changed {
		t.Fatalf("Put with the token's variable broken = %v, %v; want a failure", changed, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "REGISTRY_USER already holds the new username") || strings.Contains(msg, next.Token.Reveal()) {
		t.Errorf("error %q: want it to say the username is written and the token is not, without the secret", msg)
	}
	user, _ := f.srv.Variable("project", p.ID, "REGISTRY_USER", "*")
	tok, _ := f.srv.Variable("project", p.ID, "REGISTRY_TOKEN", "*")
	if user.Value != next.Username || tok.Value != old.Token.Reveal() || user.Masked || !user.Protected {
		t.Fatalf("after the failed Put: REGISTRY_USER %+v, REGISTRY_TOKEN holds the old token: %v", user, tok.Value == old.Token.Reveal())
	}
	if changed, err := s.Put(ctx, next); err != nil || !changed {
		t.Fatalf("retry = %v, %v", changed, err)
	}
	if got, err := s.Get(ctx); err != nil || !got.Equal(next) {
		t.Fatalf("after the retry Get = %q %s, %v", got.Username, got.Token.Hint(), err)
	}
}
