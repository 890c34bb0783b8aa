package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/cleanup"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// flagValues are the fixed values shell completion offers for a flag, by
// flag name; --format's depend on the command (formatValues).
var flagValues = map[string][]string{
	"strategy": {
		"overlap\tnew token, deliver, verify; the old one is revoked after the grace period",
		"rotate\tGitLab's rotate endpoint: the old token stops at once",
		"self\tthe token rotates itself",
		"reset\ta runner token: GitLab resets it, the old one stops at once",
	},
	"fail-on":    {"warning", "critical"},
	"log-format": {"text", "json"},
}

// formatValues are --format's values by command name (default: text, json).
var formatValues = map[string][]string{
	"scan": {"table", "json", "csv", "junit", "codequality"},
}

// registerCompletions gives every flag of cmd and its subcommands that has
// fixed values their completion, and rotate and history their REF.
func registerCompletions(cmd *cobra.Command) {
	fixed := func(vals []string) cobra.CompletionFunc {
		return cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp)
	}
	for name, vals := range flagValues {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, fixed(vals))
		}
	}
	if cmd.Flags().Lookup("format") != nil {
		vals, ok := formatValues[cmd.Name()]
		if !ok {
			vals = []string{"text", "json"}
		}
		_ = cmd.RegisterFlagCompletionFunc("format", fixed(vals))
	}
	if cmd.Flags().Lookup("kind") != nil {
		kinds := gitlab.Kinds
		if cmd.Name() == "init" {
			kinds = initKindNames
		}
		_ = cmd.RegisterFlagCompletionFunc("kind", fixed(append(slices.Clone(kinds), "all")))
	}
	if cmd.Flags().Lookup("finding") != nil {
		_ = cmd.RegisterFlagCompletionFunc("finding", fixed(cleanup.FindingCodes()))
	}
	switch cmd.Name() {
	case "rotate", "history":
		cmd.ValidArgsFunction = completeRefs
	}
	for _, sub := range cmd.Commands() {
		registerCompletions(sub)
	}
}

// completeRefs completes REF with the managed tokens of the -c config. A
// config that cannot be read completes nothing, silently.
func completeRefs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	path, err := cmd.Flags().GetString("config")
	if err != nil || path == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var refs []string
	for _, t := range cfg.Tokens {
		if ref := t.Ref(); strings.HasPrefix(ref, toComplete) {
			refs = append(refs, ref)
		}
	}
	return refs, cobra.ShellCompDirectiveNoFileComp
}
