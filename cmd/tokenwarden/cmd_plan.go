package main

import (
	"github.com/spf13/cobra"
)

func newPlanCmd() *cobra.Command {
	var f engineFlags
	var format string
	cmd := &cobra.Command{
		Use:   "plan -c FILE",
		Short: "Show what apply would create, rotate and revoke, and why (changes nothing)",
		Long: `plan shows what apply would create, rotate and resume, and why; it changes
nothing. Above the plan it warns about managed tokens that scan would flag as
configured (policy.enforce: true makes them config errors).

Exit codes: 0 ok, 1 a managed token could not be evaluated (GitLab
unreachable or refusing, missing group …; the plan is still printed),
2 usage or config.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := textOrJSON(format); err != nil {
				return err
			}
			rt, err := openRuntime(cmd.Context(), &f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer rt.Close()
			warnTo := cmd.OutOrStdout()
			if format == "json" {
				warnTo = cmd.ErrOrStderr()
			}
			st, err := rt.checkManaging(cmd.Context(), warnTo, true)
			if err != nil {
				return err
			}
			if _, err := rt.renewManaging(cmd.Context(), st, warnTo, true); err != nil {
				return err
			}
			p, err := rt.engine.Plan(cmd.Context(), rt.cfg)
			if err != nil {
				return err
			}
			if format == "json" {
				if err := writePlanJSON(cmd.OutOrStdout(), p, rt.cfg.PolicyWarnings()); err != nil {
					return err
				}
			} else {
				writePolicyWarnings(cmd.OutOrStdout(), rt.cfg.PolicyWarnings())
				writePlanText(cmd.OutOrStdout(), p)
			}
			// A plan that could not evaluate a token cannot say it is fine:
			// exit 1, so that a CI gate on `plan` fails.
			return unevaluated(p, format)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
