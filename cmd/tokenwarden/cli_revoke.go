package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/cleanup"
	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// revokeFlags are revoke's flags besides the selection criteria.
type revokeFlags struct {
	config, url, tokenFile string
	groups                 []string
	personal, dryRun, yes  bool
	kinds                  []string
	concurrency            int
	format                 string
}

func joinCodes() string { return strings.Join(cleanup.FindingCodes(), ", ") }

func runRevoke(cmd *cobra.Command, f *revokeFlags, crit cleanup.Criteria) error {
	ctx := cmd.Context()
	out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	asJSON := f.format == "json"
	stdout := out
	if asJSON {
		// The JSON alone on stdout: the list and the summary are not printed.
		out = io.Discard
	}
	clk, err := nowClock()
	if err != nil {
		return usageError("%v", err)
	}
	var cfg *config.Config
	if f.config != "" {
		if cfg, err = loadConfig(f.config); err != nil {
			return err
		}
		registerConfigSecrets(redactorFrom(ctx), cfg)
	}
	crit.Managed, crit.Thresholds = managedRefs(cfg), revokeThresholds(cfg)
	client, err := revokeClient(ctx, f, cfg)
	if err != nil {
		return err
	}
	if cfg != nil && f.tokenFile == "" {
		// The config's managing token: warn when it expires soon, stop when dead.
		if _, err := checkManaging(ctx, client, cfg, clk.Now(), stderr, false); err != nil {
			return err
		}
	}

	kinds, err := parseKinds(f.kinds)
	if err != nil {
		return err
	}
	progress, done := progressLine(stderr)
	rep, err := inventory.Scan(ctx, client, inventory.Options{
		Groups: f.groups, Personal: f.personal, Concurrency: f.concurrency, Progress: progress, Kinds: kinds,
	})
	done()
	if err != nil {
		return scanError(err)
	}
	if rep.AllFailed() {
		return scanError(rep.FailureSummary())
	}
	var incomplete error
	if len(rep.Errors) > 0 {
		fmt.Fprintf(stderr, "scan incomplete: the tokens of %d resource(s) are not in the list:\n", len(rep.Errors))
		writeResourceErrors(stderr, rep.Errors)
		incomplete = fmt.Errorf("scan incomplete: %d resource(s) could not be scanned", len(rep.Errors))
	}

	now := clk.Now()
	sel := cleanup.Select(rep.Tokens, now, crit)
	// Always: the calling token may be a group or project access token
	// (listed without --personal) as well as a personal one.
	var inUse []cleanup.Candidate
	sel.Revoke, inUse = dropCallingToken(ctx, client, sel.Revoke)
	cands := writeRevokeList(out, sel, inUse, now, crit.Thresholds)
	if asJSON && (len(cands) == 0 || f.dryRun) {
		if err := writeResultJSON(stdout, revokeJSON(f.dryRun, cands, nil, sel, inUse)); err != nil {
			return err
		}
	}
	if len(cands) == 0 {
		fmt.Fprintln(out, "\nNo token to revoke.")
		return incomplete
	}
	if f.dryRun {
		fmt.Fprintf(out, "\nDry run: nothing revoked (%d token(s) would be).\n", len(cands))
		return incomplete
	}
	if !f.yes {
		ok, err := confirm(cmd.InOrStdin(), out, fmt.Sprintf("\nRevoke %d token(s)? [y/N] ", len(cands)))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(out, "Nothing revoked.")
			return nil
		}
	}

	opts := cleanup.Options{Concurrency: f.concurrency}
	journalNote := "not recorded in a journal: no config given (-c FILE records revocations in its journal)"
	if cfg != nil {
		store, err := openRevokeJournal(ctx, cfg, clk)
		if err != nil {
			return err
		}
		defer store.Close()
		opts.Journal = store
		journalNote = "recorded in the journal: tokenwarden history -c " + f.config
	}
	fmt.Fprintln(out)
	results := cleanup.Revoke(ctx, client, cands, opts)
	writeRevokeResults(out, results, journalNote)
	if asJSON {
		if err := writeResultJSON(stdout, revokeJSON(false, cands, results, sel, inUse)); err != nil {
			return err
		}
	}
	return revokeExit(results, incomplete)
}

// revokeClient connects as --url / --token-file, else as the config says,
// else as $GITLAB_URL / $GITLAB_TOKEN.
func revokeClient(ctx context.Context, f *revokeFlags, cfg *config.Config) (*gitlab.Client, error) {
	if cfg == nil || f.tokenFile != "" {
		url := f.url
		if url == "" && cfg != nil {
			url = cfg.GitLab.URL
		}
		var timeout time.Duration
		if cfg != nil {
			timeout = cfg.GitLab.Timeout
		}
		return newGitLabClient(ctx, url, f.tokenFile, timeout)
	}
	tok, err := cfg.GitLab.LoadToken()
	if err != nil {
		return nil, withHint(err, fmt.Sprintf("the config (%s) names where the managing token is read from: gitlab.token_env or gitlab.token_file; or pass --token-file", cfg.Path))
	}
	redactorFrom(ctx).Add(tok)
	url := f.url
	if url == "" {
		url = cfg.GitLab.URL
	}
	c, err := gitlab.New(gitlab.Config{URL: url, Token: tok, Clock: clock.Real{}, Timeout: cfg.GitLab.Timeout})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// managedRefs are the config's tokens, keyed as cleanup compares them.
func managedRefs(cfg *config.Config) map[string]bool {
	m := map[string]bool{}
	if cfg == nil {
		return m
	}
	for _, t := range cfg.Tokens {
		m[cleanup.ManagedKey(t.ResourceType(), t.ResourcePath(), t.Name)] = true
	}
	return m
}

// revokeThresholds are scan's defaults with the config's policy on top:
// --finding unused means what scan says is unused.
func revokeThresholds(cfg *config.Config) policy.Thresholds {
	if cfg == nil {
		return policy.DefaultThresholds()
	}
	return cfg.Policy.Thresholds()
}

// dropCallingToken keeps the token this run authenticates with — personal,
// group or project (GET /personal_access_tokens/self answers for all three,
// and their ids share one sequence): revoking it would cut the run off
// half-way.
func dropCallingToken(ctx context.Context, client *gitlab.Client, cands []cleanup.Candidate) (kept, inUse []cleanup.Candidate) {
	self, err := client.SelfToken(ctx)
	if err != nil {
		return cands, nil
	}
	for _, c := range cands {
		// Ids are per kind: only an access token can be the calling token.
		if c.Token.ID == self.ID && gitlab.AccessTokenKind(c.Token.TokenKind()) {
			inUse = append(inUse, c)
			continue
		}
		kept = append(kept, c)
	}
	return kept, inUse
}

// openRevokeJournal opens the config's journal as plan and apply do.
func openRevokeJournal(ctx context.Context, cfg *config.Config, clk clock.Clock) (journal.Store, error) {
	sealer, err := openSealer("", cfg)
	if err != nil {
		return nil, err
	}
	store, err := journal.Open(ctx, cfg.State, sealer, clk)
	if err != nil {
		return nil, fmt.Errorf("open the journal: %w", err)
	}
	return journal.Redacting(store, redactorFrom(ctx)), nil
}

// revokeExit: 4 when some revocations failed, 1 when all did or the
// journal missed some, else the scan's incompleteness (1) or nil.
func revokeExit(results []cleanup.Result, incomplete error) error {
	failed, unrecorded := 0, 0
	for _, r := range results {
		if r.Outcome == cleanup.Failed {
			failed++
		}
		if r.RecordErr != nil {
			unrecorded++
		}
	}
	switch {
	case failed > 0 && failed == len(results):
		return fmt.Errorf("all %d revocation(s) failed", failed)
	case failed > 0:
		return withCode(exitPartial, fmt.Errorf("%d of %d revocation(s) failed", failed, len(results)))
	case unrecorded > 0:
		return fmt.Errorf("%d revocation(s) could not be recorded in the journal", unrecorded)
	}
	return incomplete
}
