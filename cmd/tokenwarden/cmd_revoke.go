package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the real command.
func newRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "revoke",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("revoke: not implemented yet")
		},
	}
}
