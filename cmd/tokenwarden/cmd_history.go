package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
)

func newHistoryCmd() *cobra.Command {
	var limit int
	cmd := engineCommand(&cobra.Command{
		Use:   "history [REF] -c FILE",
		Short: "Show the journal of rotations, newest first",
		Args:  optionalArg("REF"),
	}, "output format: text or json", func(cmd *cobra.Command, args []string, f *engineFlags, o outputs) error {
		ctx := cmd.Context()
		rt, err := openRuntime(ctx, f, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		defer rt.Close()
		filter := journal.Filter{Limit: limit}
		if len(args) == 1 {
			filter.Ref = args[0]
			if p, err := rt.engine.Plan(ctx, rt.cfg); err == nil {
				if it, err := findPlanItem(p, args[0]); err == nil {
					filter.Ref = it.Ref
				}
			}
		}
		rots, err := rt.store.List(ctx, filter)
		if err != nil {
			return err
		}
		events := make(map[string][]journal.Event, len(rots))
		for _, r := range rots {
			if events[r.ID], err = rt.store.Events(ctx, r.ID); err != nil {
				return err
			}
		}
		if o.json {
			return writeHistoryJSON(o.stdout, rots, events)
		}
		writeHistoryText(o.stdout, rots, events)
		return nil
	})
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most this many rotations (0: all)")
	return cmd
}

func tokenIDs(r *journal.Rotation) string {
	switch {
	case r.OldTokenID != 0 && r.NewTokenID != 0:
		return fmt.Sprintf("%d → %d", r.OldTokenID, r.NewTokenID)
	case r.NewTokenID != 0:
		return fmt.Sprintf("→ %d", r.NewTokenID)
	case r.OldTokenID != 0:
		return fmt.Sprintf("%d", r.OldTokenID)
	}
	return "-"
}

func writeHistoryText(w io.Writer, rots []*journal.Rotation, events map[string][]journal.Event) {
	if len(rots) == 0 {
		fmt.Fprintln(w, "No rotations recorded yet.")
		return
	}
	for _, r := range rots {
		fmt.Fprintf(w, "%s  %s  %s %s (%s)  tokens %s  step %s\n", r.StartedAt.UTC().Format("2006-01-02 15:04:05"), r.ID, r.Kind, r.Ref, r.Strategy, tokenIDs(r), r.Step)
		if r.Reason != "" {
			fmt.Fprintf(w, "    reason: %s\n", r.Reason)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range events[r.ID] {
			fmt.Fprintf(tw, "    %s\t%s\t%s\n", e.At.UTC().Format("15:04:05"), e.Step, e.Detail)
		}
		tw.Flush()
		if r.Step == journal.StepFailed && r.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", r.Error)
		}
	}
}

type historyEventJSON struct {
	At     time.Time `json:"at"`
	Step   string    `json:"step"`
	Detail string    `json:"detail"`
}

type historyJSON struct {
	ID           string             `json:"id"`
	Ref          string             `json:"ref"`
	Kind         string             `json:"kind"`
	Strategy     string             `json:"strategy"`
	Step         string             `json:"step"`
	OldTokenID   int64              `json:"old_token_id,omitempty"`
	NewTokenID   int64              `json:"new_token_id,omitempty"`
	NewExpiresAt string             `json:"new_expires_at,omitempty"`
	Delivered    []string           `json:"delivered"`
	Reason       string             `json:"reason,omitempty"`
	Error        string             `json:"error,omitempty"`
	StartedAt    time.Time          `json:"started_at"`
	FinishedAt   *time.Time         `json:"finished_at,omitempty"`
	Events       []historyEventJSON `json:"events"`
}

func writeHistoryJSON(w io.Writer, rots []*journal.Rotation, events map[string][]journal.Event) error {
	out := struct {
		Rotations []historyJSON `json:"rotations"`
	}{Rotations: []historyJSON{}}
	for _, r := range rots {
		h := historyJSON{ID: r.ID, Ref: r.Ref, Kind: r.Kind, Strategy: r.Strategy, Step: string(r.Step),
			OldTokenID: r.OldTokenID, NewTokenID: r.NewTokenID, Delivered: append([]string{}, r.Delivered...),
			Reason: r.Reason, Error: r.Error, StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt, Events: []historyEventJSON{}}
		if r.NewExpiresAt != nil {
			h.NewExpiresAt = r.NewExpiresAt.Format(time.DateOnly)
		}
		for _, e := range events[r.ID] {
			h.Events = append(h.Events, historyEventJSON{At: e.At.UTC(), Step: string(e.Step), Detail: e.Detail})
		}
		out.Rotations = append(out.Rotations, h)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
