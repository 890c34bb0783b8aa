package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

func newScanCmd() *cobra.Command {
	var (
		url, tokenFile, format, failOn string
		groups, kinds                  []string
		personal, noInventory          bool
		concurrency                    int
		timeout                        = gitlab.DefaultTimeout
		th                             = policy.DefaultThresholds()
		vars                           = scanVarOptions{manyPlaces: policy.DefaultManyPlaces}
	)
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Inventory every group and project access token and say what is wrong with each",
		Long: `scan lists every group and project access token under the given groups
(default: every group the token's user owns or, for an administrator, every
group), recursively, with its scopes, role, expiry, last use and state, and
checks each against the policy: expired, expires-soon, never-used, unused,
over-privileged, no-expiry, long-lived, undescriptive-name, no-description.

--kind adds the other expiring credentials: deploy tokens, pipeline trigger
tokens, runner tokens and, for an administrator, every user's and service
account's personal access tokens (--kind all for every kind).

The token comes from $GITLAB_TOKEN or --token-file and needs scope read_api
(or api); its user needs the Owner role on the groups (Maintainer on
projects) to see their tokens.

--variables also reads every group's and project's CI/CD variables (the
token then needs Owner on groups and Maintainer on projects, as for their
tokens) and reports each variable holding a GitLab token — by kind, prefix
plus last four characters and digest, never the value — with findings:
dead-token-in-variable, expiring-token-in-variable,
token-in-unprotected-variable, token-in-many-places, foreign-token. Tokens
are identified from the journal (with -c), with POST /admin/token (an
administrator's token), or with --identify-by-use, which authenticates with
each token and so changes its last_used_at. With --variables the output
starts once everything is read.

Exit codes: 0 ok, 1 error or incomplete scan, 2 usage, 3 findings at or
above --fail-on.`,
		Example: `  tokenwarden scan --url https://gitlab.example.com --group platform
  tokenwarden scan --format json --fail-on critical
  tokenwarden scan --personal --expires-warning 60d --format csv > tokens.csv
  tokenwarden scan --kind deploy_token,trigger_token --group platform
  tokenwarden scan --variables -c tokenwarden.yaml --fail-on critical`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := newScanWriter(format, io.Discard, time.Time{}); err != nil {
				return err
			}
			if failOn != "" && failOn != policy.SeverityWarning && failOn != policy.SeverityCritical {
				return usageError("--fail-on must be warning or critical, not %q", failOn)
			}
			if concurrency < 1 {
				return usageError("--concurrency must be at least 1")
			}
			kindList, err := parseKinds(kinds)
			if err != nil {
				return err
			}
			if vars.byUse && !vars.enabled {
				return usageError("--identify-by-use needs --variables")
			}
			if vars.config != "" && !vars.enabled {
				return usageError("-c/--config is read by scan only with --variables")
			}
			if vars.manyPlaces < 1 {
				return usageError("--many-places must be at least 1")
			}
			if timeout <= 0 {
				return usageError("--timeout must be positive")
			}
			if th.ExpiresCritical > th.ExpiresWarning {
				return usageError("--expires-critical (%s) must not be longer than --expires-warning (%s)",
					durationFlag{&th.ExpiresCritical}, durationFlag{&th.ExpiresWarning})
			}
			clk, err := nowClock()
			if err != nil {
				return usageError("%v", err)
			}
			client, err := newGitLabClient(cmd.Context(), url, tokenFile, timeout)
			if err != nil {
				return err
			}
			var varCtx scanVarContext
			if vars.enabled {
				if varCtx, err = loadScanVarContext(cmd.Context(), vars, clk); err != nil {
					return err
				}
			}
			// The calling token itself, once, before any work: a dead one
			// stops here; its row is marked in the output.
			self, err := client.SelfToken(cmd.Context())
			if err != nil {
				return scanError(err)
			}
			now := clk.Now()
			out, _ := newScanWriter(format, cmd.OutOrStdout(), now)
			// Rows go to the output as each resource's tokens come in:
			// a write that fails stops the scan.
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			var sum scanSummary
			var werr error
			var held []scanRow // --variables: rows wait for where their tokens live
			progress, done := progressLine(cmd.ErrOrStderr())
			rep, err := inventory.Scan(ctx, client, inventory.Options{
				Groups: groups, Personal: personal, Concurrency: concurrency, Progress: progress, Variables: vars.enabled,
				Kinds: kindList, CredentialsInventory: !noInventory,
				Tokens: func(_ gitlab.Resource, toks []gitlab.Token) {
					for _, t := range toks {
						if werr != nil {
							return
						}
						row := scanRow{Row: policy.Evaluated(t, now, th), Self: t.ID == self.ID && gitlab.AccessTokenKind(t.TokenKind())}
						sum.add(row)
						if vars.enabled {
							held = append(held, row)
							continue
						}
						if werr = out.Row(row); werr != nil {
							cancel()
						}
					}
				},
			})
			done()
			if werr != nil {
				return fmt.Errorf("scan: write output: %w", werr)
			}
			if err != nil {
				return scanError(err)
			}
			if rep.AllFailed() {
				return scanError(rep.FailureSummary())
			}
			if lvl := managing.LevelAt(self.ExpiresAt, now, managing.Thresholds{Warning: th.ExpiresWarning, Critical: th.ExpiresCritical}); lvl != managing.LevelOK {
				fmt.Fprintf(cmd.ErrOrStderr(), "! %s: the token scan runs with (%q, id %d) expires on %s: renew it before it does\n",
					strings.ToUpper(lvl), self.Name, self.ID, self.ExpiresAt.Format(time.DateOnly))
			}
			sum.resources(rep)
			var varRows []varRow
			if vars.enabled {
				identifyVariables(cmd.Context(), cmd.ErrOrStderr(), client, rep, held, vars, varCtx, now, concurrency)
				varRows = evaluateVariables(held, &sum, rep, now, th, vars.manyPlaces, varCtx)
				for _, row := range held {
					if err := out.Row(row); err != nil {
						return fmt.Errorf("scan: write output: %w", err)
					}
				}
			}
			if err := out.Close(scanResult{Now: now, Summary: sum, Errors: rep.Errors, Variables: varRows}); err != nil {
				return fmt.Errorf("scan: write output: %w", err)
			}
			if err := scanIncomplete(cmd.ErrOrStderr(), rep.Errors, "scan incomplete: %d resource(s) could not be scanned:", "tokens"); err != nil {
				return err
			}
			if err := scanIncomplete(cmd.ErrOrStderr(), rep.VariableErrors, "scan incomplete: the CI/CD variables of %d resource(s) could not be read:", "variables"); err != nil {
				return err
			}
			if failOn != "" {
				if n := sum.atOrAbove(failOn); n > 0 {
					return withCode(exitFindings, fmt.Errorf("%d finding(s) at or above %s", n, failOn))
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "GitLab instance URL (default $GITLAB_URL)")
	f.StringVar(&tokenFile, "token-file", "", "read the GitLab token from this file instead of $GITLAB_TOKEN")
	f.StringArrayVar(&groups, "group", nil, "full path of a group to scan with everything below it (repeatable; default: all groups)")
	f.BoolVar(&personal, "personal", false, "also list the calling user's personal access tokens (same as --kind personal_access_token plus the default kinds)")
	f.StringSliceVar(&kinds, "kind", nil, "credential kinds to list, comma-separated or repeated: "+strings.Join(gitlab.Kinds, ", ")+", or all (default: group_access_token,project_access_token)")
	f.BoolVar(&noInventory, "no-credentials-inventory", false, "list each group's and project's access tokens even where GitLab.com's group credentials inventory answers")
	f.StringVar(&format, "format", "table", "output format: table, json, csv, junit (GitLab test report) or codequality (GitLab Code Quality report)")
	f.StringVar(&failOn, "fail-on", "", "exit with code 3 when a finding is at or above this severity: warning or critical")
	f.BoolVar(&vars.enabled, "variables", false, "also read every group's and project's CI/CD variables and report the GitLab tokens they hold")
	f.BoolVar(&vars.byUse, "identify-by-use", false, "identify tokens found in variables by authenticating with them: changes their last_used_at (without an administrator token only)")
	f.IntVar(&vars.manyPlaces, "many-places", policy.DefaultManyPlaces, "token-in-many-places when the same secret is in more than this many variables")
	f.StringVarP(&vars.config, "config", "c", "", "with --variables: a tokenwarden config whose journal identifies the secrets tokenwarden delivered, and whose sinks show where managed tokens live")
	f.StringVar(&vars.keyFile, "key-file", "", "with -c: the key of the config's journal (default as the config says)")
	f.IntVar(&concurrency, "concurrency", inventory.DefaultConcurrency, "API requests in flight at once")
	f.Var(durationFlag{&timeout}, "timeout", "give up on a request GitLab has not answered within this")
	f.Var(durationFlag{&th.ExpiresWarning}, "expires-warning", "expires-soon is a warning within this")
	f.Var(durationFlag{&th.ExpiresCritical}, "expires-critical", "expires-soon is critical within this")
	f.Var(durationFlag{&th.UnusedAfter}, "unused-after", "unused when last used longer ago than this (0 disables)")
	f.Var(durationFlag{&th.NeverUsedGrace}, "never-used-grace", "never-used only for tokens older than this")
	f.Var(durationFlag{&th.MaxLifetime}, "max-lifetime", "long-lived when a token lives longer than this (0 disables)")
	return cmd
}

// parseKinds validates --kind: each a gitlab.Kinds name or "all".
func parseKinds(in []string) ([]string, error) {
	var out []string
	for _, k := range in {
		k = strings.TrimSpace(k)
		switch {
		case k == "all":
			return gitlab.Kinds, nil
		case slices.Contains(gitlab.Kinds, k):
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		default:
			return nil, withHint(usageError("--kind %q is not a credential kind", k), "use one of "+strings.Join(gitlab.Kinds, ", ")+", or all")
		}
	}
	return out, nil
}

// scanIncomplete is for the resources whose tokens or CI/CD variables a
// scan could not read (errs): it lists them on stderr under headerf (a
// format that takes their number) and returns the error (exit 1) that says
// their missing ("tokens", "variables") are not in the output. Nil when
// errs is empty.
func scanIncomplete(stderr io.Writer, errs []inventory.ResourceError, headerf, missing string) error {
	if len(errs) == 0 {
		return nil
	}
	fmt.Fprintf(stderr, headerf+"\n", len(errs))
	writeResourceErrors(stderr, errs)
	return withCode(exitError, fmt.Errorf("scan incomplete: the %s of %d resource(s) are missing from the output above", missing, len(errs)))
}

// writeResourceErrors lists the resources a scan could not read, one a line
// with the reason.
func writeResourceErrors(w io.Writer, errs []inventory.ResourceError) {
	for _, e := range errs {
		fmt.Fprintf(w, "  %s %s: %v\n", e.Resource.Type, e.Resource.Path, e.Err)
	}
}

// scanHints are the hints for the errors of a scan a user can fix, by the
// gitlab error they wrap; scanError gives the first that matches.
var scanHints = []struct {
	err  error
	hint string
}{
	{gitlab.ErrInsufficientScope, "create a token with scope read_api (or api) and pass it in GITLAB_TOKEN or --token-file"},
	{gitlab.ErrTokenRejected, "check GITLAB_TOKEN / --token-file; `tokenwarden doctor` tells why a token does not work"},
	{gitlab.ErrNoPermission, "use a token whose user owns the groups (or is an administrator), or limit the scan with --group"},
	{gitlab.ErrTimeout, "check --url / GITLAB_URL and the network path to the instance (firewall, HTTPS_PROXY/NO_PROXY, VPN); if it is merely slow, raise --timeout"},
	{gitlab.ErrNotAPI, "--url / GITLAB_URL must be the instance's root, the address of its web interface such as https://gitlab.example.com, without /api/v4"},
	{gitlab.ErrUnreachable, "check --url / GITLAB_URL and that the instance is reachable from here"},
	{gitlab.ErrNotFound, "--group takes a group's full path, e.g. platform/infra"},
}

// scanError adds a hint to the errors a user can fix (scanHints).
func scanError(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("scan interrupted")
	}
	for _, h := range scanHints {
		if errors.Is(err, h.err) {
			return withHint(err, h.hint)
		}
	}
	return err
}

// progressLine returns a Progress callback that redraws one line on w when w
// is a terminal (and does nothing otherwise), at most ten times a second,
// and a func that clears it.
func progressLine(w io.Writer) (func(done, total int), func()) {
	if !isTerminal(w) {
		return nil, func() {}
	}
	f := w
	var mu sync.Mutex
	drawn := false
	start := time.Now()
	var last time.Time
	return func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			if done != total && done != 0 && now.Sub(last) < 100*time.Millisecond {
				return
			}
			last = now
			fmt.Fprintf(f, "\r\033[K%s", progressText(done, total, now.Sub(start)))
			drawn = true
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			if drawn {
				fmt.Fprint(f, "\r\033[K")
			}
		}
}

// progressText is the progress line: how far, how fast, and about how long
// is left at that pace (once there is a pace to go by).
func progressText(done, total int, elapsed time.Duration) string {
	s := fmt.Sprintf("scanning: %d/%d groups and projects", done, total)
	if done == 0 || elapsed < time.Second {
		return s
	}
	rate := float64(done) / elapsed.Seconds()
	left := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	return s + fmt.Sprintf(" · %.0f/s · about %s left", rate, left)
}

// isTerminal reports whether w is, or wraps (the redactor's writer), a
// terminal.
func isTerminal(w io.Writer) bool {
	for {
		switch x := w.(type) {
		case *os.File:
			return term.IsTerminal(int(x.Fd()))
		case interface{ Unwrap() io.Writer }:
			w = x.Unwrap()
		default:
			return false
		}
	}
}
