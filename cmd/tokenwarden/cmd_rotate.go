package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
)

func newRotateCmd() *cobra.Command {
	var strategy string
	var expiresIn time.Duration
	cmd := engineCommand(&cobra.Command{
		Use:   "rotate REF -c FILE",
		Short: "Rotate one managed token now (REF: group/PATH:NAME, project/PATH:NAME, PATH:NAME or a token id)",
		Long: `rotate rotates one managed token now, after finishing an unfinished rotation
of it, if any.

Exit codes: 0 rotated, 1 error, 2 usage, config or unknown REF, 4 the
rotation did not complete.

--format json prints one object with an item per rotation (action rotate, or
resume for the unfinished one; the result, the token ids, the error) instead
of the outcome lines. Exit codes are the same.`,
		Args: oneArg("REF"),
	}, "output format: text or json", func(cmd *cobra.Command, args []string, f *engineFlags, o outputs) error {
		ctx := cmd.Context()
		if strategy != "" && !config.Strategy(strategy).Valid() {
			return usageError("--strategy must be overlap, rotate, self or reset (runner tokens), not %q", strategy)
		}
		if d := expiresIn; d != 0 && (d < 24*time.Hour || d > config.MaxLifetime) {
			return usageError("--expires-in must be between 1d and 365d")
		}
		rt, _, err := openToWrite(ctx, f, cmd.ErrOrStderr(), o.msgs)
		if err != nil {
			return err
		}
		defer rt.Close()
		ref, err := findRef(ctx, rt.cfg, args[0], rt.engine)
		if err != nil {
			return err
		}
		outs, err := rt.engine.RotateNow(ctx, rt.cfg, ref, engine.RotateOptions{
			Strategy: config.Strategy(strategy), ExpiresIn: expiresIn, Reason: "manual: tokenwarden rotate",
		})
		res := resultJSON{Command: "rotate"}
		for i, oc := range outs {
			earlier := i == 0 && (len(outs) == 2 || err != nil)
			if o.json {
				action := "rotate"
				if earlier {
					action = "resume"
				}
				res.Items = append(res.Items, outcomeJSON(action, oc))
				continue
			}
			if earlier {
				fmt.Fprintf(o.msgs, "%s had an unfinished rotation (%s); finishing it first:\n", ref, oc.Rotation.ID)
			}
			writeOutcome(o.msgs, oc)
		}
		if o.json && (err == nil || len(outs) > 0) {
			if jerr := writeResultJSON(o.stdout, res); jerr != nil && err == nil {
				err = jerr
			}
		}
		if err != nil {
			code := exitError
			if len(outs) > 0 {
				code = exitPartial
			}
			return withCode(code, err)
		}
		return outcomeCode(outs)
	})
	cmd.Flags().StringVar(&strategy, "strategy", "", "overlap, rotate, self, or reset for a runner token (default: the token's configured strategy)")
	cmd.Flags().Var(durationFlag{&expiresIn}, "expires-in", "lifetime of the new token, e.g. 30d (default: the token's lifetime)")
	return cmd
}

// findRef resolves REF to a managed token's full ref. Only a token id needs
// GitLab (a plan, to know each token's live id).
func findRef(ctx context.Context, cfg *config.Config, ref string, eng *engine.Engine) (string, error) {
	p := &engine.Plan{}
	for _, t := range cfg.Tokens {
		p.Items = append(p.Items, engine.Item{Ref: t.Ref(), Token: t})
	}
	if _, err := strconv.ParseInt(ref, 10, 64); err == nil && eng != nil {
		var perr error
		if p, perr = eng.Plan(ctx, cfg); perr != nil {
			return "", perr
		}
	}
	it, err := findPlanItem(p, ref)
	if err != nil {
		return "", err
	}
	return it.Ref, nil
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
