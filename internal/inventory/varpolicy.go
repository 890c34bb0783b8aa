package inventory

import (
	"context"
	"sort"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/tokenfind"
)

// VariableRow is a variable holding a token (or a hidden one) with what the
// policy says about it.
type VariableRow struct {
	VariableToken
	Places   int // variables holding the same secret
	Findings []policy.Finding
	Worst    string
}

// EvaluatedVariables is the policy's view of a scan's variables.
type EvaluatedVariables struct {
	Rows []VariableRow // most urgent first, then by resource path and key
	// Lives lists, by token id, the variables that hold the token
	// (VariableToken.Place), for identified group and project tokens.
	Lives map[int64][]string
	// ByToken lists, by token id, the findings of the variables holding it.
	ByToken map[int64][]policy.Finding
}

// EvaluateVariables runs the policy's variable checks over vs (identified
// by Identify).
func EvaluateVariables(vs []VariableToken, now time.Time, th policy.Thresholds, manyPlaces int) EvaluatedVariables {
	out := EvaluatedVariables{Rows: []VariableRow{}, Lives: map[int64][]string{}, ByToken: map[int64][]policy.Finding{}}
	places := map[string]int{}
	for _, v := range vs {
		if !v.Hidden {
			places[v.Found.Digest]++
		}
	}
	for _, v := range vs {
		row := VariableRow{VariableToken: v}
		if !v.Hidden {
			row.Places = places[v.Found.Digest]
			facts := policy.VariableFacts{Resource: v.Resource, Masked: v.Masked, Protected: v.Protected,
				State: v.Ident.State, Token: v.Ident.Token, Places: row.Places}
			if v.Found.Kind.ID != tokenfind.AccessToken.ID {
				facts.What = v.Found.Kind.What
			}
			row.Findings = policy.EvaluateVariable(facts, now, th, manyPlaces)
			row.Worst = policy.Worst(row.Findings)
			if t := v.Ident.Token; t != nil && resourceAccessToken(*t) {
				out.Lives[t.ID] = append(out.Lives[t.ID], v.Place())
				for _, f := range row.Findings {
					f.Message = v.Place() + ": " + f.Message
					out.ByToken[t.ID] = append(out.ByToken[t.ID], f)
				}
			}
		}
		out.Rows = append(out.Rows, row)
	}
	sort.SliceStable(out.Rows, func(i, j int) bool { return policy.Rank(out.Rows[i].Worst) > policy.Rank(out.Rows[j].Worst) })
	return out
}

// JournalDigests maps the digest of each secret tokenwarden minted and
// delivered (the newest three per token) to its token, for Identify.
// onSecret, when set, sees each secret read (to register it with a
// redactor).
func JournalDigests(ctx context.Context, store journal.Store, onSecret func(secret.Secret)) (map[string]Delivered, error) {
	rows, err := store.List(ctx, journal.Filter{})
	if err != nil {
		return nil, err
	}
	out := map[string]Delivered{}
	per := map[string]int{}
	for _, r := range rows {
		if r.NewTokenID == 0 || r.Kind == journal.KindRevocation || per[r.Ref] >= 3 {
			continue
		}
		full, err := store.Get(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if full.NewSecret.IsZero() || len(full.Delivered) == 0 {
			continue
		}
		if onSecret != nil {
			onSecret(full.NewSecret)
		}
		per[r.Ref]++
		d := tokenfind.Digest(full.NewSecret)
		if _, ok := out[d]; !ok {
			out[d] = Delivered{Ref: r.Ref, TokenID: r.NewTokenID}
		}
	}
	return out, nil
}
