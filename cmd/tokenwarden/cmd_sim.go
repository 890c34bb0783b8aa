package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// simFlags are the options of `tokenwarden sim`.
type simFlags struct {
	listen           string
	rootToken        string
	seed             int64
	groups           int
	projectsPerGroup int
	tokensPerProject int
	deployPerProject int
	triggerPerProj   int
	runnersPerGroup  int
	saas             bool
	variables        bool
	latency          time.Duration
	rateLimit        int
	fixture          string
}

func newSimCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the GitLab emulator as a standalone HTTP server",
		Long: `sim serves an emulated GitLab (REST API v4: groups, projects, users,
group/project/personal access tokens, deploy tokens, pipeline trigger tokens,
runners, CI/CD variables) until interrupted.

--root-token (or TOKENWARDEN_SIM_ROOT_TOKEN) is the secret of root's
administrator token with api scope. The clock follows real time and can be
moved with POST /-/sim/clock {"advance":"72h"}; GET /-/sim/stats and
POST /-/sim/faults are the other admin endpoints (root token required).`,
		Example: `  tokenwarden sim --listen 127.0.0.1:8080 --root-token glpat-... --seed 1 --groups 5 --projects-per-group 3 --tokens-per-project 2`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSim(cmd.Context(), cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	fl.StringVar(&f.rootToken, "root-token", "", "root's api token (default $TOKENWARDEN_SIM_ROOT_TOKEN)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the generated instance and its secrets")
	fl.IntVar(&f.groups, "groups", 0, "groups to generate")
	fl.IntVar(&f.projectsPerGroup, "projects-per-group", 0, "projects to generate in each group")
	fl.IntVar(&f.tokensPerProject, "tokens-per-project", 0, "access tokens to generate in each project (each group gets one too)")
	fl.IntVar(&f.deployPerProject, "deploy-tokens-per-project", 0, "deploy tokens to generate in each project")
	fl.IntVar(&f.triggerPerProj, "trigger-tokens-per-project", 0, "pipeline trigger tokens to generate in each project")
	fl.IntVar(&f.runnersPerGroup, "runners-per-group", 0, "group runners to generate in each top-level group")
	fl.BoolVar(&f.saas, "saas", false, "also serve what only GitLab.com has (the top-level group credentials inventory)")
	fl.BoolVar(&f.variables, "variables", false, "give the generated groups and projects CI/CD variables, some holding their (or other resources', expired, revoked or unknown) tokens")
	fl.DurationVar(&f.latency, "latency", 0, "latency added to every API request")
	fl.IntVar(&f.rateLimit, "rate-limit", 0, "authenticated requests per minute per user (0: no limit)")
	fl.StringVar(&f.fixture, "fixture", "", "YAML fixture to load after generating")
	return cmd
}

func runSim(ctx context.Context, cmd *cobra.Command, f simFlags) error {
	source := "--root-token"
	if f.rootToken == "" {
		f.rootToken, source = os.Getenv("TOKENWARDEN_SIM_ROOT_TOKEN"), "TOKENWARDEN_SIM_ROOT_TOKEN"
	}
	if f.rootToken == "" {
		return withHint(usageError("sim: no root token"), "pass --root-token TOKEN or set TOKENWARDEN_SIM_ROOT_TOKEN")
	}
	if f.groups < 0 || f.projectsPerGroup < 0 || f.tokensPerProject < 0 || f.deployPerProject < 0 || f.triggerPerProj < 0 || f.runnersPerGroup < 0 || f.rateLimit < 0 || f.latency < 0 {
		return usageError("sim: sizes, --latency and --rate-limit must not be negative")
	}
	srv, err := sim.New(sim.Options{
		Clock: &sim.LiveClock{}, RootToken: f.rootToken, Seed: f.seed,
		Groups: f.groups, ProjectsPerGroup: f.projectsPerGroup, TokensPerProject: f.tokensPerProject, Variables: f.variables,
		DeployTokensPerProject: f.deployPerProject, TriggerTokensPerProject: f.triggerPerProj, RunnersPerGroup: f.runnersPerGroup,
		Latency: f.latency, RateLimit: f.rateLimit, SaaS: f.saas,
	})
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if f.fixture != "" {
		file, err := os.Open(f.fixture)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		err = srv.LoadFixture(file)
		file.Close()
		if err != nil {
			return fmt.Errorf("sim: %s: %w", f.fixture, err)
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("sim: listen on %s: %w", f.listen, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	st := srv.Stats()
	fmt.Fprintf(cmd.OutOrStdout(), "GitLab emulator listening on http://%s (root token from %s)\n", ln.Addr(), source)
	fmt.Fprintf(cmd.OutOrStdout(), "%d groups, %d projects, %d group tokens, %d project tokens, %d CI/CD variables\n", st.Groups, st.Projects, st.GroupTokens, st.ProjectTokens, st.Variables)
	if st.DeployTokens+st.TriggerTokens+st.Runners > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%d deploy tokens, %d pipeline trigger tokens, %d runners\n", st.DeployTokens, st.TriggerTokens, st.Runners)
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sim: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sim: shutdown: %w", err)
	}
	return nil
}
