package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by the linker: -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

// buildVersion returns the version and commit this binary was built from.
func buildVersion() (ver, rev string) {
	ver, rev = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && rev == "" {
				rev = s.Value
			}
		}
	}
	if ver == "" {
		ver = "devel"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev
}

// versionLine is what `version` and `--version` print.
func versionLine() string {
	ver, rev := buildVersion()
	return fmt.Sprintf("tokenwarden %s (commit %s, %s)", ver, rev, runtime.Version())
}

func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version [--format text|json]",
		Short: "Print the version and commit of this binary",
		Long: `version prints the version, the commit and the Go version this binary was
built with: those set with -ldflags "-X main.version=… -X main.commit=…", else
the module version and VCS revision Go recorded in the binary.

--format json prints {"version": …, "commit": …, "go_version": …}.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "text":
				_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
				return err
			case "json":
				ver, rev := buildVersion()
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Version   string `json:"version"`
					Commit    string `json:"commit"`
					GoVersion string `json:"go_version"`
				}{ver, rev, runtime.Version()})
			}
			return usageError("--format must be text or json, not %q", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
