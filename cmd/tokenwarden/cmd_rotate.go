package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the real command.
func newRotateCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "rotate",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("rotate: not implemented yet")
		},
	}
}
