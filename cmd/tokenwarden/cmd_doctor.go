package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/doctor"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

func newDoctorCmd() *cobra.Command {
	var (
		envVar, file, url, need, project, group, format, lookupEnv, cfgPath, username string
		timeout                                                                       = doctor.DefaultTimeout
	)
	cmd := &cobra.Command{
		Use:   "doctor [-]",
		Short: "Find out why a GitLab token does not work, and how to fix it",
		Long: `doctor checks a token the way a consumer (a pipeline, a script, a service)
holds it, in order, and stops at the first blocking problem with one concrete
fix: the variable is set, the value has no stray whitespace, quotes or
"Bearer " prefix, it is a GitLab access token, the instance answers, GitLab
accepts the token (not unknown, revoked or expired; warns 30 days before
expiry), its scopes cover --need (and no more than that), and it reaches
--project / --group with a high enough role.

A deploy token (gldt-) works only for Git, the container registry and the
package registry: with --project (and its username from --username or
$CI_DEPLOY_USER) doctor checks which of them it can use there, and why not
(unknown, wrong username, another project's token, missing scope); with
--lookup-env it also tells expired from revoked from deleted.

The token is read from --env VAR (default GITLAB_TOKEN), --file PATH, or
stdin with "-". It is never printed: at most its prefix and last 4 characters.

Operations accepted by --need besides scope names: clone, fetch, pull, push,
pull-image, push-image, api-read, api-write, rotate.

With -c CONFIG and no token argument, doctor checks tokenwarden's own
(managing) token, read as gitlab.token_env / gitlab.token_file say, and
whether its scopes and its user's role can do what the config asks.

Exit status: 0 healthy (warnings allowed), 1 a blocking problem, 2 bad usage.`,
		Example: `  tokenwarden doctor --need push --project platform/app
  tokenwarden doctor --env DEPLOY_TOKEN --url https://gitlab.example.com --need read_api
  tokenwarden doctor --env CI_DEPLOY_PASSWORD --project platform/app --need clone,pull-image
  printf %s "$TOKEN" | tokenwarden doctor - --format json
  tokenwarden doctor -c tokenwarden.yaml`,
		Args: optionalArg("-"),
		RunE: func(cmd *cobra.Command, args []string) error {
			stdin := len(args) == 1
			if stdin && args[0] != "-" {
				return usageError("doctor: unexpected argument %q (use - to read the token from stdin)", args[0])
			}
			sources := 0
			for _, set := range []bool{cmd.Flags().Changed("env"), file != "", stdin} {
				if set {
					sources++
				}
			}
			if sources > 1 {
				return usageError("doctor: give only one of --env, --file and -")
			}
			if cfgPath != "" && (sources > 0 || need != "" || project != "" || group != "" || url != "" || username != "") {
				return withHint(usageError("doctor: -c checks the config's managing token against the config; it takes none of --env, --file, -, --need, --project, --group, --url, --username"),
					"tokenwarden doctor -c tokenwarden.yaml")
			}
			if timeout <= 0 {
				return usageError("doctor: --timeout must be positive")
			}
			if format != "text" && format != "json" {
				return usageError("doctor: --format must be text or json, not %q", format)
			}
			needs, err := doctor.ParseNeeds(need)
			if err != nil {
				return usageError("doctor: %v", err)
			}
			now, err := nowClock()
			if err != nil {
				return usageError("doctor: %v", err)
			}
			if cfgPath != "" {
				return doctorManaging(cmd, cfgPath, format, lookupEnv, now)
			}
			in := doctor.Input{Needs: needs, Project: project, Group: group, InCI: os.Getenv("GITLAB_CI") == "true"}
			switch {
			case stdin:
				in.Origin = doctor.Origin{Kind: "stdin", Found: true}
				b, rerr := io.ReadAll(cmd.InOrStdin())
				in.Origin.Err = rerr
				in.Token = secret.New(string(b))
			case file != "":
				in.Origin = doctor.Origin{Kind: "file", Name: file}
				b, rerr := os.ReadFile(file)
				in.Origin.Found = rerr == nil || !errors.Is(rerr, os.ErrNotExist)
				in.Origin.Err = rerr
				in.Token = secret.New(string(b))
			default:
				v, ok := os.LookupEnv(envVar)
				in.Origin = doctor.Origin{Kind: "env", Name: envVar, Found: ok}
				in.Token = secret.New(v)
			}
			in.URL, in.URLSource = url, "--url"
			for _, e := range []string{"GITLAB_URL", "CI_SERVER_URL"} {
				if in.URL == "" {
					in.URL, in.URLSource = os.Getenv(e), e
				}
			}
			in.Username, in.UsernameSource = username, "--username"
			if username == "" {
				in.Username, in.UsernameSource = os.Getenv("CI_DEPLOY_USER"), "CI_DEPLOY_USER"
			}
			if lookupEnv != "" {
				in.Lookup = secret.New(os.Getenv(lookupEnv))
			}
			rep := doctor.Run(cmd.Context(), in, doctor.Config{Clock: now, Timeout: timeout})
			return writeDoctorReport(cmd.OutOrStdout(), rep, format)
		},
	}
	f := cmd.Flags()
	f.StringVar(&envVar, "env", "GITLAB_TOKEN", "environment variable that holds the token")
	f.StringVar(&file, "file", "", "file that holds the token")
	f.StringVar(&url, "url", "", "GitLab instance URL (default $GITLAB_URL, in CI $CI_SERVER_URL)")
	f.StringVar(&need, "need", "", "comma-separated scopes or operations the consumer needs, e.g. read_api,push")
	f.StringVar(&project, "project", "", "full path of a project the token must reach")
	f.StringVar(&group, "group", "", "full path of a group the token must reach")
	f.StringVar(&format, "format", "text", "output format: text or json")
	f.StringVarP(&cfgPath, "config", "c", "", "check tokenwarden's own token (gitlab.token_env / token_file of this config) against what the config asks")
	f.Var(durationFlag{&timeout}, "timeout", "give up on a request GitLab has not answered within this")
	f.StringVar(&username, "username", "", "a deploy token's username, for Git and the registry (default $CI_DEPLOY_USER)")
	f.StringVar(&lookupEnv, "lookup-env", "", "environment variable with an administrator token, used only to find out when an expired token expired (GitLab's token information API); for a deploy token, a token of the project's Maintainer or an administrator, to tell expired from revoked from deleted")
	return cmd
}

// errSilent marks a failure whose explanation is already on stdout.
var errSilent = errors.New("doctor: the token is not healthy (the checklist above says why and how to fix it)")

// writeDoctorReport prints rep as text or JSON; an unhealthy report exits 1
// without an error line (the report already says what is wrong).
func writeDoctorReport(out io.Writer, rep doctor.Report, format string) error {
	var err error
	if format == "json" {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteText(out)
	}
	if err != nil {
		return fmt.Errorf("doctor: write report: %w", err)
	}
	if !rep.Healthy {
		return withCode(exitError, errSilent)
	}
	return nil
}
