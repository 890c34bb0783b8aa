package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPlanCmd() *cobra.Command {
	var withVars bool
	cmd := engineCommand(&cobra.Command{
		Use:   "plan -c FILE",
		Short: "Show what apply would create, rotate and revoke, and why (changes nothing)",
		Long: `plan shows what apply would create, rotate and resume, and why; it changes
nothing. Above the plan it warns about managed tokens that scan would flag as
configured (policy.enforce: true makes them config errors).

Exit codes: 0 ok, 1 a managed token could not be evaluated (GitLab
unreachable or refusing, missing group …; the plan is still printed),
2 usage or config.

--variables also reads the CI/CD variables below the config's top-level
groups (one call per group and project) and warns about each managed token
whose secret sits in a variable that is not one of its sinks: that variable
would keep the old secret after the rotation, and its pipelines would break.`,
		Args: noArgs,
	}, "output format: text or json", func(cmd *cobra.Command, _ []string, f *engineFlags, o outputs) error {
		rt, err := openRuntime(cmd.Context(), f, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		defer rt.Close()
		st, err := rt.checkManaging(cmd.Context(), o.msgs, true)
		if err != nil {
			return err
		}
		if _, err := rt.renewManaging(cmd.Context(), st, o.msgs, true); err != nil {
			return err
		}
		p, err := rt.engine.Plan(cmd.Context(), rt.cfg)
		if err != nil {
			return err
		}
		if withVars && rt.gitlab != nil {
			rep, err := scanConfigVariables(cmd.Context(), rt.gitlab, rt.store, rt.cfg, rt.clock.Now())
			if err != nil {
				return fmt.Errorf("plan --variables: %w", err)
			}
			writeStrayVariables(o.msgs, strayVariables(p, rt.cfg, rep), p)
		}
		if o.json {
			if err := writePlanJSON(o.stdout, p, rt.cfg.PolicyWarnings()); err != nil {
				return err
			}
		} else {
			writePolicyWarnings(o.stdout, rt.cfg.PolicyWarnings())
			writePlanText(o.stdout, p)
		}
		// A plan that could not evaluate a token cannot say it is fine:
		// exit 1, so that a CI gate on `plan` fails.
		return unevaluated(p, o.format)
	})
	cmd.Flags().BoolVar(&withVars, "variables", false, "also warn when a managed token's secret sits in a CI/CD variable that is not one of its sinks")
	return cmd
}
