package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	execsink "gitlab.com/tokenwarden/tokenwarden/internal/sink/exec"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/file"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/gitlabvar"
)

// byUseWarning is said before --identify-by-use sends any token.
const byUseWarning = `! WARNING: --identify-by-use authenticates with every access token found in a CI/CD variable
! (GET /personal_access_tokens/self) to learn which token it is. GitLab records that as a use:
! each such token's last_used_at becomes now, so unused/never-used findings about them are lost
! from now on. Use an administrator token instead (POST /admin/token identifies without using).
`

// varRow is one CI/CD variable holding a GitLab token (or a hidden one) as
// scan reports it. It never holds the value.
type varRow struct{ inventory.VariableRow }

// Identified says for people what the variable holds.
func (v varRow) Identified() string {
	if v.Hidden {
		return "not inspectable: hidden variable (GitLab never shows its value)"
	}
	id := v.Ident
	kind := v.Found.Kind.What
	switch {
	case id.Method == "":
		return "holds a GitLab token (" + kind + "), not identified"
	case id.Method == inventory.IdentJournal:
		s := "the secret tokenwarden delivered for " + id.Ref
		if id.Token != nil {
			s += fmt.Sprintf(" (id %d, %s)", id.Token.ID, id.State)
		}
		return s + " — identified by " + identMethod(id)
	case id.Token != nil:
		return fmt.Sprintf("%s %s (id %d), %s — identified by %s", id.Token.Resource.Type, id.Token.Ref(), id.Token.ID, id.State, identMethod(id))
	case id.State == inventory.StateUnknown:
		return kind + " GitLab does not know — identified by " + identMethod(id)
	}
	return kind + ", " + id.State + " — identified by " + identMethod(id)
}

func identMethod(id inventory.Identification) string {
	switch id.Method {
	case inventory.IdentJournal:
		return "the journal"
	case inventory.IdentAdmin:
		return "POST /admin/token"
	case inventory.IdentByUse:
		return "use (--identify-by-use)"
	}
	return id.Method
}

// scanVarOptions are scan's --variables settings.
type scanVarOptions struct {
	enabled    bool
	byUse      bool
	manyPlaces int
	config     string
	keyFile    string
}

// scanVarContext is what a config adds to scan --variables: the secrets
// tokenwarden delivered (by digest) and where each managed token is
// delivered.
type scanVarContext struct {
	delivered map[string]inventory.Delivered
	sinks     map[string][]string // "type/path:name" → sink descriptions
}

// loadScanVarContext reads the config and its journal; no config, nothing.
func loadScanVarContext(ctx context.Context, o scanVarOptions, clk clock.Clock) (scanVarContext, error) {
	var sc scanVarContext
	if o.config == "" {
		return sc, nil
	}
	cfg, err := loadConfig(o.config)
	if err != nil {
		return sc, err
	}
	sc.sinks = map[string][]string{}
	for _, t := range cfg.Tokens {
		for _, s := range t.Deliver {
			sc.sinks[t.Ref()] = append(sc.sinks[t.Ref()], sinkPlace(s))
		}
	}
	sealer, err := openSealer(o.keyFile, cfg)
	if err != nil {
		return sc, err
	}
	store, err := journal.Open(ctx, cfg.State, sealer, clk)
	if err != nil {
		return sc, err
	}
	defer store.Close()
	red := redactorFrom(ctx)
	sc.delivered, err = inventory.JournalDigests(ctx, store, func(s secret.Secret) { red.Add(s) })
	return sc, err
}

// sinkPlace names a sink for people (as its Describe does).
func sinkPlace(s config.Sink) string {
	switch c := s.Settings.(type) {
	case *gitlabvar.Config:
		kind, path := "project", c.Project
		if c.Group != "" {
			kind, path = "group", c.Group
		}
		return fmt.Sprintf("CI/CD variable %s (%s %s, scope %s)", c.Key, kind, path, scopeOrAll(c.EnvironmentScope))
	case *file.Config:
		return "file " + c.Path
	case *execsink.Config:
		return "exec " + strings.Join(c.Command, " ")
	}
	return fmt.Sprintf("%s sink (line %d)", s.Kind, s.Line)
}

// identifyVariables identifies the tokens rep.Variables hold, in the
// allowed order, registering every found secret with the redactor first.
func identifyVariables(ctx context.Context, stderr io.Writer, c *gitlab.Client, rep *inventory.Report, rows []scanRow, o scanVarOptions, sc scanVarContext, now time.Time, concurrency int) {
	red := redactorFrom(ctx)
	for _, v := range rep.Variables {
		red.Add(v.Found.Secret)
	}
	known := make([]gitlab.Token, len(rows))
	for i, r := range rows {
		known[i] = r.Token
	}
	byUse := o.byUse && !rep.User.Admin
	if byUse {
		fmt.Fprint(stderr, byUseWarning)
	}
	st, err := inventory.Identify(ctx, c, rep, inventory.IdentifyOptions{
		Journal: sc.delivered, Admin: rep.User.Admin, ByUse: byUse, Now: now, Concurrency: concurrency, Known: known,
	})
	if err != nil {
		fmt.Fprintf(stderr, "! identifying the tokens found in CI/CD variables failed part-way: %v\n", err)
	}
	if st.Unidentified > 0 && !rep.User.Admin && !o.byUse {
		fmt.Fprintf(stderr, "%d token(s) found in CI/CD variables are not identified: scan with an administrator token (POST /admin/token), or pass --identify-by-use\n", st.Unidentified)
	}
}

// evaluateVariables turns rep's variables into rows (most urgent first),
// notes on each token row where the token lives, and counts the findings in
// sum.
func evaluateVariables(rows []scanRow, sum *scanSummary, rep *inventory.Report, now time.Time, th policy.Thresholds, manyPlaces int, sc scanVarContext) []varRow {
	ev := inventory.EvaluateVariables(rep.Variables, now, th, manyPlaces)
	out := make([]varRow, len(ev.Rows))
	for i, r := range ev.Rows {
		out[i] = varRow{r}
		sum.VariableTokens++
		sum.findings(r.Findings)
	}
	for i, r := range rows {
		t := r.Token
		if k := t.TokenKind(); k == gitlab.KindGroupAccessToken || k == gitlab.KindProjectAccessToken {
			rows[i].Lives = append(rows[i].Lives, ev.Lives[t.ID]...)
		}
		for _, s := range sc.sinks[t.Resource.Type+"/"+t.Resource.Path+":"+t.Name] {
			rows[i].Lives = append(rows[i].Lives, "sink: "+s)
		}
	}
	sum.Variables = rep.VariableCount
	return out
}

// writeVariablesTable writes the variables section of scan's table.
func writeVariablesTable(out *strings.Builder, r scanResult) {
	if r.Variables == nil {
		return
	}
	fmt.Fprintf(out, "\nCI/CD VARIABLES HOLDING GITLAB TOKENS (%d of %d variables)\n", len(r.Variables), r.Summary.Variables)
	for _, v := range r.Variables {
		out.WriteString(trunc(printable(v.Place()), tableWidth) + "\n")
		if !v.Hidden {
			flags := []string{}
			for _, f := range []struct {
				on   bool
				name string
			}{{v.Masked, "masked"}, {v.Protected, "protected"}, {v.File, "file"}} {
				if f.on {
					flags = append(flags, f.name)
				}
			}
			if len(flags) == 0 {
				flags = append(flags, "unprotected")
			}
			out.WriteString(trunc(printable(fmt.Sprintf("    %s  %s  %s", v.Found.Hint, v.Found.Digest, strings.Join(flags, ","))), tableWidth) + "\n")
		}
		out.WriteString(trunc(printable("    "+v.Identified()), tableWidth) + "\n")
		for _, f := range v.Findings {
			out.WriteString(trunc(printable(fmt.Sprintf("    %-8s  %s: %s", f.Severity, f.Code, f.Message)), tableWidth) + "\n")
		}
	}
}

// jsonVariable is a variable in scan's JSON: never the value.
type jsonVariable struct {
	ResourceType     string        `json:"resource_type"`
	ResourcePath     string        `json:"resource_path"`
	Key              string        `json:"key"`
	EnvironmentScope string        `json:"environment_scope"`
	File             bool          `json:"file"`
	Masked           bool          `json:"masked"`
	Protected        bool          `json:"protected"`
	Hidden           bool          `json:"hidden"`
	Inspectable      bool          `json:"inspectable"`
	Kind             string        `json:"kind,omitempty"`
	Hint             string        `json:"hint,omitempty"`
	Digest           string        `json:"digest,omitempty"`
	Where            string        `json:"where,omitempty"`
	Places           int           `json:"places,omitempty"`
	IdentifiedBy     string        `json:"identified_by"`
	ManagedRef       string        `json:"managed_ref,omitempty"`
	TokenID          int64         `json:"token_id,omitempty"`
	TokenRef         string        `json:"token_ref,omitempty"`
	TokenState       string        `json:"token_state,omitempty"`
	Description      string        `json:"description"`
	Findings         []jsonFinding `json:"findings"`
}

func jsonVariables(r scanResult) []jsonVariable {
	out := []jsonVariable{}
	for _, v := range r.Variables {
		jv := jsonVariable{ResourceType: v.Resource.Type, ResourcePath: v.Resource.Path, Key: v.Key, EnvironmentScope: v.Scope,
			File: v.File, Masked: v.Masked, Protected: v.Protected, Hidden: v.Hidden, Inspectable: !v.Hidden,
			Kind: v.Found.Kind.ID, Hint: v.Found.Hint, Digest: v.Found.Digest, Where: v.Found.Where, Places: v.Places,
			IdentifiedBy: v.Ident.Method, ManagedRef: v.Ident.Ref, TokenState: v.Ident.State,
			Description: v.Identified(), Findings: v.Findings}
		if t := v.Ident.Token; t != nil {
			jv.TokenID, jv.TokenRef = t.ID, t.Ref()
		}
		if jv.Findings == nil {
			jv.Findings = []jsonFinding{}
		}
		out = append(out, jv)
	}
	return out
}
