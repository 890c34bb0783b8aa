package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
)

func newApplyCmd() *cobra.Command {
	var f engineFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "apply -c FILE [--yes]",
		Short: "Create and rotate managed tokens, deliver, verify and revoke, as the plan says",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			rt, err := openRuntime(ctx, &f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer rt.Close()
			if err := rt.lock(); err != nil {
				return err
			}
			st, err := rt.checkManaging(ctx, out, true)
			if err != nil {
				return err
			}
			if _, err := rt.renewManaging(ctx, st, out, false); err != nil {
				return err
			}
			p, err := rt.engine.Plan(ctx, rt.cfg)
			if err != nil {
				return err
			}
			writePlanText(out, p)
			planErrs := planErrors(p)
			if p.Changes() == 0 {
				if planErrs != nil {
					return planErrs
				}
				fmt.Fprintln(out, "\nNothing to do.")
				return nil
			}
			if !yes {
				ok, err := confirm(cmd.InOrStdin(), out, fmt.Sprintf("\nApply %d change(s)? [y/N] ", p.Changes()))
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(out, "Nothing changed.")
					return nil
				}
			}
			fmt.Fprintln(out)
			outs, err := rt.engine.Apply(ctx, rt.cfg, p)
			for _, o := range outs {
				writeOutcome(out, o)
			}
			if err != nil {
				return err
			}
			if planErrs != nil {
				return withCode(exitPartial, planErrs)
			}
			return outcomeCode(outs)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// confirm asks question on out and reads y/yes from in (a terminal or a
// pipe). No answer at all is an error that points at --yes.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprint(out, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if errors.Is(err, io.EOF) && line == "" {
		fmt.Fprintln(out)
		return false, withHint(errors.New("no answer on stdin"), "pass --yes to run without asking")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// planErrors is an error naming the managed tokens the plan could not
// evaluate (missing group, no permission, …) and those whose last rotation
// failed, or nil.
func planErrors(p *engine.Plan) error {
	var broken, failed []string
	for _, it := range p.Items {
		switch {
		case it.Action == engine.ActionError:
			broken = append(broken, it.Ref)
		case it.Warning != "":
			failed = append(failed, it.Ref)
		}
	}
	var errs []error
	if len(broken) > 0 {
		errs = append(errs, fmt.Errorf("could not evaluate %d managed token(s): %s (see the plan above)", len(broken), strings.Join(broken, ", ")))
	}
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("the last rotation of %d managed token(s) failed: %s (see the plan above)", len(failed), strings.Join(failed, ", ")))
	}
	return errors.Join(errs...)
}
