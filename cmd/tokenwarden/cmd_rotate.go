package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
)

func newRotateCmd() *cobra.Command {
	var f engineFlags
	var strategy string
	var expiresIn time.Duration
	cmd := &cobra.Command{
		Use:   "rotate REF -c FILE",
		Short: "Rotate one managed token now (REF: group/PATH:NAME, project/PATH:NAME, PATH:NAME or a token id)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if strategy != "" && !slices.Contains([]string{config.StrategyOverlap, config.StrategyRotate, config.StrategySelf}, strategy) {
				return usageError("--strategy must be overlap, rotate or self, not %q", strategy)
			}
			if d := expiresIn; d != 0 && (d < 24*time.Hour || d > config.MaxLifetime) {
				return usageError("--expires-in must be between 1d and 365d")
			}
			rt, err := openRuntime(ctx, &f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer rt.Close()
			if err := rt.lock(); err != nil {
				return err
			}
			p, err := rt.engine.Plan(ctx, rt.cfg)
			if err != nil {
				return err
			}
			it, err := findPlanItem(p, args[0])
			if err != nil {
				return err
			}
			var o engine.Outcome
			switch it.Action {
			case engine.ActionError:
				return fmt.Errorf("%s: %s", it.Ref, it.Reason)
			case engine.ActionResume:
				fmt.Fprintf(out, "%s has an unfinished rotation (%s); resuming it first\n", it.Ref, it.RotationID)
				outs, err := rt.engine.Resume(ctx, rt.cfg)
				if err != nil {
					return err
				}
				for _, o := range outs {
					writeOutcome(out, o)
				}
				return outcomeCode(outs)
			default:
				o = rt.engine.Start(ctx, it.Token, it.Current, engine.RotateOptions{
					Strategy: strategy, ExpiresIn: expiresIn, Reason: "manual: tokenwarden rotate",
				})
			}
			writeOutcome(out, o)
			return outcomeCode([]engine.Outcome{o})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&strategy, "strategy", "", "overlap, rotate or self (default: the token's configured strategy)")
	cmd.Flags().Var(durationFlag{&expiresIn}, "expires-in", "lifetime of the new token, e.g. 30d (default: the token's lifetime)")
	return cmd
}

// findPlanItem resolves REF against the managed tokens: a full ref
// (group/a/b:name), a path:name that matches one token, or a token id.
func findPlanItem(p *engine.Plan, ref string) (*engine.Item, error) {
	var matches []*engine.Item
	id, idErr := strconv.ParseInt(ref, 10, 64)
	for i := range p.Items {
		it := &p.Items[i]
		switch {
		case it.Ref == ref:
			return it, nil
		case idErr == nil && it.Current != nil && it.Current.ID == id:
			return it, nil
		case strings.HasSuffix(it.Ref, "/"+ref) && strings.Count(it.Ref[:len(it.Ref)-len(ref)-1], "/") == 0:
			matches = append(matches, it)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	var refs []string
	for _, it := range p.Items {
		refs = append(refs, it.Ref)
	}
	if len(matches) > 1 {
		return nil, withHint(usageError("%s matches several managed tokens", ref), "use the full ref: "+strings.Join(refs, ", "))
	}
	return nil, withHint(usageError("%s is not a managed token in the config", ref), "managed tokens: "+strings.Join(refs, ", "))
}
