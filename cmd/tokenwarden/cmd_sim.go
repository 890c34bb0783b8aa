package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the real command.
func newSimCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sim",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("sim: not implemented yet")
		},
	}
}
