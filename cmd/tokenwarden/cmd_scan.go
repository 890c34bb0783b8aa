package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the real command.
func newScanCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "scan",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("scan: not implemented yet")
		},
	}
}
