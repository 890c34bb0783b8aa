package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "man DIR",
		Short: "Write a man page per command (section 1) into DIR",
		Long: `man writes tokenwarden.1 and a tokenwarden-COMMAND.1 per command into DIR,
creating it. The pages carry no generation date unless SOURCE_DATE_EPOCH is
set, so the same binary writes the same pages.

  tokenwarden man /usr/local/share/man/man1
  make man    # bin/man/man1; then: MANPATH=bin/man man tokenwarden-apply`,
		Args: oneArg("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			ver, _ := buildVersion()
			header := &doc.GenManHeader{Section: "1", Source: "tokenwarden " + ver, Manual: "tokenwarden manual"}
			// A fixed date (the epoch's, unless SOURCE_DATE_EPOCH says
			// otherwise): cobra would stamp today's.
			date := time.Unix(0, 0).UTC()
			if _, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
				header.Date = nil
			} else {
				header.Date = &date
			}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("man: write the pages into %s: %w", dir, err)
			}
			pages, err := filepath.Glob(filepath.Join(dir, "tokenwarden*.1"))
			if err != nil {
				return fmt.Errorf("man: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %d man pages to %s\n", len(pages), dir)
			return err
		},
	}
}
