package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the real command.
func newPlanCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "plan",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("plan: not implemented yet")
		},
	}
}
