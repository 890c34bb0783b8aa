package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the real command.
func newApplyCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "apply",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("apply: not implemented yet")
		},
	}
}
