package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/cleanup"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// writeRevokeList prints the tokens to revoke in scan's table, most urgent
// first, each with why it was selected, then the tokens skipped: managed
// ones and (inUse) the token this run authenticates with. It returns the
// candidates in the table's order.
func writeRevokeList(w io.Writer, sel cleanup.Selection, inUse []cleanup.Candidate, now time.Time, th policy.Thresholds) []cleanup.Candidate {
	// Ids are unique per kind only: a deploy token and a trigger token
	// can both be id 1.
	type key struct {
		kind string
		id   int64
	}
	byKey := map[key]cleanup.Candidate{}
	toks := make([]gitlab.Token, len(sel.Revoke))
	for i, c := range sel.Revoke {
		toks[i] = c.Token
		byKey[key{c.Token.TokenKind(), c.Token.ID}] = c
	}
	var out strings.Builder
	var ordered []cleanup.Candidate
	if len(toks) > 0 {
		res := evaluateScan(&inventory.Report{Tokens: toks}, now, th)
		for _, row := range res.Rows {
			ordered = append(ordered, byKey[key{row.Token.TokenKind(), row.Token.ID}])
		}
		writeTokenTable(&out, res.Rows, func(row scanRow) []string {
			return []string{fmt.Sprintf("    %-8s  %s", "revoke", byKey[key{row.Token.TokenKind(), row.Token.ID}].Reason)}
		})
		fmt.Fprintf(&out, "\n%d token(s) to revoke\n", len(ordered))
	}
	if len(toks) == 0 && len(sel.Managed)+len(inUse) > 0 {
		out.WriteString("\n")
	}
	for _, c := range inUse {
		fmt.Fprintf(&out, "skipped %s (%s): it is the token this run uses\n", printable(cleanup.Ref(c.Token)), c.Reason)
	}
	if n := len(sel.Managed); n > 0 {
		for _, c := range sel.Managed {
			fmt.Fprintf(&out, "skipped managed token %s (%s)\n", printable(cleanup.Ref(c.Token)), c.Reason)
		}
		fmt.Fprintf(&out, "skipped %d managed token(s); --include-managed to include them\n", n)
	}
	_, _ = io.WriteString(w, out.String())
	return ordered
}

// writeRevokeResults prints one line per token and a summary line.
func writeRevokeResults(w io.Writer, results []cleanup.Result, journalNote string) {
	var out strings.Builder
	counts := map[cleanup.Outcome]int{}
	unrecorded := 0
	for _, r := range results {
		counts[r.Outcome]++
		what := "token"
		if k := r.Token.TokenKind(); !gitlab.AccessTokenKind(k) {
			what = k
		}
		line := fmt.Sprintf("%-12s  %s (%s %d)", r.Outcome, printable(cleanup.Ref(r.Token)), what, r.Token.ID)
		if r.Err != nil {
			line += ": " + printable(r.Err.Error())
		}
		out.WriteString(line + "\n")
		if r.RecordErr != nil {
			unrecorded++
			fmt.Fprintf(&out, "              not recorded in the journal: %s\n", printable(r.RecordErr.Error()))
		}
	}
	fmt.Fprintf(&out, "\n%d revoked · %d already gone · %d failed", counts[cleanup.Revoked], counts[cleanup.AlreadyGone], counts[cleanup.Failed])
	if unrecorded == 0 {
		out.WriteString(" · " + journalNote)
	}
	out.WriteString("\n")
	_, _ = io.WriteString(w, out.String())
}
