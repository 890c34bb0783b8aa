package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
)

func newApplyCmd() *cobra.Command {
	var yes bool
	cmd := engineCommand(&cobra.Command{
		Use:   "apply -c FILE [--yes] [--format text|json]",
		Short: "Create and rotate managed tokens, deliver, verify and revoke, as the plan says",
		Long: `apply resumes unfinished rotations, then does what the plan says, after
asking (unless --yes).

Exit codes: 0 done, 1 error (a managed token could not be evaluated: the
others are done), 2 usage or config, 4 a rotation failed while others were
done.

--format json prints one object with an item per managed token (its plan
action, the result, the token ids, the error) instead of the plan and the
outcome lines; it never asks, so it needs --yes. Exit codes are the same.`,
		Args: noArgs,
	}, "output format: text or json (json needs --yes)", func(cmd *cobra.Command, _ []string, f *engineFlags, o outputs) error {
		ctx := cmd.Context()
		if o.json && !yes {
			return errNoConfirmJSON("apply", "")
		}
		rt, st, err := openToWrite(ctx, f, cmd.ErrOrStderr(), o.msgs)
		if err != nil {
			return err
		}
		defer rt.Close()
		if _, err := rt.renewManaging(ctx, st, o.msgs, false); err != nil {
			return err
		}
		p, err := rt.engine.Plan(ctx, rt.cfg)
		if err != nil {
			return err
		}
		writePolicyWarnings(o.msgs, rt.cfg.PolicyWarnings())
		if !o.json {
			writePlanText(o.msgs, p)
		}
		broken, failed := unevaluated(p, o.format), lastFailed(p, o.format)
		if o.json && p.Changes() == 0 {
			if err := writeResultJSON(o.stdout, applyJSON(p, nil)); err != nil {
				return err
			}
		}
		if p.Changes() == 0 {
			if broken != nil {
				return withCode(exitError, errors.Join(broken, failed))
			}
			if failed != nil {
				return withCode(exitPartial, failed)
			}
			if !o.json {
				fmt.Fprintln(o.msgs, "\nNothing to do.")
			}
			return nil
		}
		if !yes {
			ok, err := confirm(cmd.InOrStdin(), o.msgs, fmt.Sprintf("\nApply %d change(s)? [y/N] ", p.Changes()))
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(o.msgs, "Nothing changed.")
				return nil
			}
		}
		outs, err := rt.engine.Apply(ctx, rt.cfg, p)
		if o.json && (err == nil || len(outs) > 0) {
			if jerr := writeResultJSON(o.stdout, applyJSON(p, outs)); jerr != nil && err == nil {
				err = jerr
			}
		} else if !o.json {
			fmt.Fprintln(o.msgs)
			for _, oc := range outs {
				writeOutcome(o.msgs, oc)
			}
		}
		if err != nil {
			return err
		}
		// The other tokens are done; one that could not be evaluated is
		// an error (1), as in plan. Rotations that failed, now or last
		// time, leave the run partial (4).
		done := outcomeCode(outs)
		failed = lastFailed(p, o.format, outs...)
		if broken != nil {
			return withCode(exitError, errors.Join(broken, failed, done))
		}
		if failed != nil {
			return withCode(exitPartial, errors.Join(failed, done))
		}
		return done
	})
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

// unevaluated is an error naming the managed tokens the plan could not
// evaluate (GitLab unreachable, refused, missing group …), or nil.
func unevaluated(p *engine.Plan, format string) error {
	var broken []string
	for _, it := range p.Items {
		if it.Action == engine.ActionError {
			broken = append(broken, it.Ref)
		}
	}
	if len(broken) == 0 {
		return nil
	}
	err := fmt.Errorf("could not evaluate %d managed token(s): %s (%s)", len(broken), strings.Join(broken, ", "), seePlan(format))
	if h := planHint(p); h != "" {
		return &hintedError{err: err, hint: h}
	}
	return err
}

// lastFailed is an error naming the managed tokens whose last rotation
// failed and still needs a person (the plan's warning), or nil. A token that
// a rotation in outs has since carried through is not named.
func lastFailed(p *engine.Plan, format string, outs ...engine.Outcome) error {
	var failed []string
	for _, it := range p.Items {
		fixed := slices.ContainsFunc(outs, func(o engine.Outcome) bool {
			return o.Rotation != nil && o.Rotation.Ref == it.Ref && (o.Status == engine.StatusDone || o.Status == engine.StatusWaiting)
		})
		if it.Action != engine.ActionError && it.Warning != "" && !fixed {
			failed = append(failed, it.Ref)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("the last rotation of %d managed token(s) failed: %s (%s)", len(failed), strings.Join(failed, ", "), seePlan(format))
}

// seePlan is where the details of an error about planned tokens are: the
// text plan printed above it, or the JSON's items.
func seePlan(format string) string {
	if format == "json" {
		return "see their items in the JSON output"
	}
	return "see the plan above"
}

// planHint is the remedy of the first token that could not be evaluated for
// a cause that knows it (GitLab timed out, the URL is not GitLab's API):
// such a cause is usually the same for every token, so it is said once.
func planHint(p *engine.Plan) string {
	for _, it := range p.Items {
		if h := problem.Hint(it.Err); it.Action == engine.ActionError && h != "" {
			return h
		}
	}
	return ""
}

// hintedError is an error with the hint main prints under it, also when it
// is wrapped with an exit code.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string    { return e.err.Error() }
func (e *hintedError) Unwrap() error    { return e.err }
func (e *hintedError) HintText() string { return e.hint }
