package main

import (
	"errors"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/cleanup"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
)

func newRevokeCmd() *cobra.Command {
	var (
		f    revokeFlags
		crit cleanup.Criteria
	)
	cmd := &cobra.Command{
		Use:   "revoke (--unused DURATION | --expired | --finding CODE)... [--dry-run | --yes]",
		Short: "Revoke the tokens nobody needs: unused, expired, or with a scan finding",
		Long: `revoke finds the group and project access tokens (and with --personal the
caller's personal tokens; with --kind, deploy, trigger and runner tokens and,
for an administrator, every user's personal tokens) that match any selector
— --unused, --expired, --finding — lists them in scan's table, asks, and
revokes them. Deploy and trigger tokens are deleted; a runner token is reset
(the runner stops until it gets a new one).

Already revoked tokens are never selected; tokens named in the config (-c)
are managed by tokenwarden and skipped unless --include-managed. With a
config, every revocation and failure is recorded in its journal
(` + "`tokenwarden history -c FILE`" + `); without one, nothing is recorded.

A token that is gone by the time it is revoked (GitLab answers 404) counts
as "already gone". Exit codes: 0 ok, 1 error, 2 usage, 4 some revocations
failed.

--format json prints one object with an item per token (action revoke or
skip, the result, the token id, the error) instead of the list and the
summary; it never asks, so it needs --yes or --dry-run. Exit codes are the
same.`,
		Example: `  tokenwarden revoke --unused 90d --dry-run
  tokenwarden revoke --expired --finding never-used --group platform --exclude 'break-glass-*'
  tokenwarden revoke -c tokenwarden.yaml --unused 180d --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("unused") && crit.Unused == 0 {
				// Every token was last used some time ago (or never):
				// 0d selects them all. Never read it as "off".
				return withHint(usageError("--unused 0d would select every token, used or not"),
					"give the idle time after which a token counts as unused, e.g. --unused 90d (scan's threshold); --expired or --finding CODE select by other criteria")
			}
			if err := crit.Validate(); err != nil {
				if errors.Is(err, cleanup.ErrNoSelector) {
					return withHint(usageError("%v", err), "e.g. tokenwarden revoke --unused 90d --dry-run")
				}
				return usageError("%v", err)
			}
			if f.concurrency < 1 {
				return usageError("--concurrency must be at least 1")
			}
			if f.dryRun && f.yes {
				return usageError("--dry-run and --yes contradict each other")
			}
			if f.format != "text" && f.format != "json" {
				return usageError("--format must be text or json, not %q", f.format)
			}
			if f.format == "json" && !f.yes && !f.dryRun {
				return errNoConfirmJSON("revoke", ", or --dry-run to list what would be revoked")
			}
			return runRevoke(cmd, &f, crit)
		},
	}
	fl := cmd.Flags()
	fl.Var(durationFlag{&crit.Unused}, "unused", "select tokens not used for this long (or never used and older than this), e.g. 90d")
	fl.BoolVar(&crit.Expired, "expired", false, "select expired tokens")
	fl.StringArrayVar(&crit.Findings, "finding", nil, "select tokens with this scan finding (repeatable): "+joinCodes())
	fl.StringArrayVar(&f.groups, "group", nil, "only tokens in this group and below it (repeatable; default: all groups)")
	fl.StringArrayVar(&crit.Exclude, "exclude", nil, "keep tokens whose name matches this glob, e.g. 'break-glass-*' (repeatable)")
	fl.BoolVar(&crit.IncludeManaged, "include-managed", false, "also revoke tokens the config manages")
	fl.StringSliceVar(&f.kinds, "kind", nil, "credential kinds to consider, as scan's --kind (default: group and project access tokens)")
	fl.BoolVar(&f.personal, "personal", false, "also consider the calling user's personal access tokens (never the one in use)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "show what would be revoked and change nothing")
	fl.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	fl.StringVar(&f.format, "format", "text", "output format: text or json (json needs --yes or --dry-run)")
	fl.StringVarP(&f.config, "config", "c", "", "config file: its managed tokens are protected and its journal records the revocations")
	fl.StringVar(&f.url, "url", "", "GitLab instance URL (default: the config's gitlab.url, else $GITLAB_URL)")
	fl.StringVar(&f.tokenFile, "token-file", "", "read the GitLab token from this file (default: the config's token, else $GITLAB_TOKEN)")
	fl.IntVar(&f.concurrency, "concurrency", inventory.DefaultConcurrency, "API requests in flight at once")
	return cmd
}
