// Command tokenwarden keeps GitLab access tokens alive, least-privileged and
// delivered. Each command lives in its own cmd_<verb>.go; this file wires them
// together and turns errors into exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Exit codes, documented in the README.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitFindings = 3
	exitPartial  = 4
)

// exitError carries an exit code and an optional hint to main.
type cliError struct {
	code int
	err  error
	hint string
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

// withCode wraps err so that tokenwarden exits with code.
func withCode(code int, err error) error { return &cliError{code: code, err: err} }

// withHint wraps err with a hint line printed under it.
func withHint(err error, hint string) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return &cliError{code: ce.code, err: ce.err, hint: hint}
	}
	return &cliError{code: exitError, err: err, hint: hint}
}

// usageError is bad flags or arguments (exit 2).
func usageError(format string, a ...any) error {
	return &cliError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// textOrJSON checks a --format flag that takes text or json and says
// whether it is json.
func textOrJSON(format string) (bool, error) {
	if format != "text" && format != "json" {
		return false, usageError("--format must be text or json, not %q", format)
	}
	return format == "json", nil
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:     "tokenwarden",
		Short:   "Keep GitLab access tokens alive, least-privileged and delivered",
		Version: versionLine(),
		// cobra only defaults this when it prints the error itself.
		SuggestionsMinimumDistance: 2,
		SilenceUsage:               true,
		SilenceErrors:              true,
		// Runnable, so that cobra hands an unknown command to Args (a usage
		// error) instead of failing in Find with a plain one.
		Args: unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &cliError{code: exitUsage, err: err}
	})
	root.AddCommand(
		newDemoCmd(),
		newScanCmd(),
		newInitCmd(),
		newPlanCmd(),
		newApplyCmd(),
		newRotateCmd(),
		newRevokeCmd(),
		newDoctorCmd(),
		newServeCmd(),
		newSimCmd(),
		newHistoryCmd(),
		newVersionCmd(),
		newManCmd(),
	)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	registerCompletions(root)
	usageArgs(root)
	return root
}

// usageArgs makes every argument error of cmd and its subcommands a usage
// error (exit 2) with the command's usage line as the hint.
func usageArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			err := check(c, args)
			var ce *cliError
			if err == nil || errors.As(err, &ce) {
				return err
			}
			return &cliError{code: exitUsage, err: err, hint: "usage: " + c.UseLine()}
		}
	}
	for _, sub := range cmd.Commands() {
		usageArgs(sub)
	}
}

// unknownCommand is the root's Args: any argument is a command that does
// not exist.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	err := fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		err = fmt.Errorf("%w; did you mean %q?", err, s[0])
	}
	return &cliError{code: exitUsage, err: err, hint: "run " + cmd.CommandPath() + " --help to list the commands"}
}

// noArgs is Args for a command that takes no arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// oneArg is Args for a command that needs exactly one argument, called name.
func oneArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s needs %s", cmd.CommandPath(), name)
		case len(args) > 1:
			return fmt.Errorf("%s takes 1 argument (%s), got %d", cmd.CommandPath(), name, len(args))
		}
		return nil
	}
}

// optionalArg is Args for a command that takes at most one argument, name.
func optionalArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return fmt.Errorf("%s takes at most 1 argument (%s), got %d", cmd.CommandPath(), name, len(args))
		}
		return nil
	}
}

// run executes the CLI and returns the process exit code. Everything the
// CLI prints, errors included, passes through the process's one redactor.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	red := secret.NewRedactor()
	ctx = withRedactor(ctx, red)
	stdout, stderr = red.Writer(stdout), red.Writer(stderr)
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitError
	var ce *cliError
	if errors.As(err, &ce) {
		code = ce.code
	}
	if code == exitFindings && (ce == nil || ce.err == nil) {
		return code
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	switch {
	case ce != nil && ce.hint != "":
		fmt.Fprintf(stderr, "hint: %s\n", ce.hint)
	case problem.Hint(err) != "":
		// The error knows what to do about itself: a config or key file
		// problem, a GitLab that timed out or is not GitLab's API, a
		// sink's refusal.
		fmt.Fprintf(stderr, "hint: %s\n", problem.Hint(err))
	}
	return code
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
