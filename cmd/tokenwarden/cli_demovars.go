package main

import (
	"context"
	"fmt"
	"io"

	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// demoVariables scans the demo's variables and identifies their tokens as
// scan --variables -c does: the journal's digests, then POST /admin/token.
func demoVariables(ctx context.Context, w *demoWorld) ([]inventory.VariableRow, error) {
	rep, err := inventory.Scan(ctx, w.rt.gitlab, inventory.Options{Groups: []string{"acme"}, Variables: true})
	if err != nil {
		return nil, fmt.Errorf("scan --variables: %w", err)
	}
	red := redactorFrom(ctx)
	delivered, err := inventory.JournalDigests(ctx, w.rt.store, func(s secret.Secret) { red.Add(s) })
	if err != nil {
		return nil, err
	}
	now := w.clock.Now()
	if _, err := inventory.Identify(ctx, w.rt.gitlab, rep, inventory.IdentifyOptions{Journal: delivered, Admin: rep.User.Admin, Now: now}); err != nil {
		return nil, err
	}
	return inventory.EvaluateVariables(rep.Variables, now, policy.DefaultThresholds(), policy.DefaultManyPlaces).Rows, nil
}

// writeDemoVariables prints the variable key (or every one, when key is "").
func writeDemoVariables(out io.Writer, rows []inventory.VariableRow, key string) {
	for _, r := range rows {
		if key != "" && r.Key != key {
			continue
		}
		v := varRow{r}
		fmt.Fprintf(out, "  %s\n    %s  %s\n    %s\n", v.Place(), v.Found.Hint, v.Found.Digest, v.Identified())
		for _, f := range v.Findings {
			fmt.Fprintf(out, "    %-8s  %s: %s\n      fix: %s\n", f.Severity, f.Code, f.Message, f.Fix)
		}
		if len(v.Findings) == 0 {
			fmt.Fprintf(out, "    no findings\n")
		}
	}
}
