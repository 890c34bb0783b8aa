package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the real command.
func newHistoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "history",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("history: not implemented yet")
		},
	}
}
