package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// gitlabURL is --url, else $GITLAB_URL.
func gitlabURL(flag string) (string, error) {
	u := flag
	if u == "" {
		u = os.Getenv("GITLAB_URL")
	}
	if u == "" {
		return "", withHint(usageError("no GitLab URL given"),
			"pass --url https://gitlab.example.com or set GITLAB_URL")
	}
	return u, nil
}

// gitlabToken reads the calling token from --token-file, else $GITLAB_TOKEN.
// A trailing newline (as editors and `echo` leave) is dropped. Errors name
// the file or variable, never the value.
func gitlabToken(tokenFile string) (secret.Secret, error) {
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return secret.Secret{}, fmt.Errorf("read token file: %w", err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if strings.TrimSpace(v) == "" {
			return secret.Secret{}, withHint(fmt.Errorf("token file %s is empty", tokenFile),
				"write the token (glpat-…) into the file, or set GITLAB_TOKEN instead")
		}
		return secret.New(v), nil
	}
	v := os.Getenv("GITLAB_TOKEN")
	if v == "" {
		return secret.Secret{}, withHint(usageError("no GitLab token: GITLAB_TOKEN is not set and no --token-file was given"),
			"create a personal access token with scope read_api (its user must own the groups to scan), then export GITLAB_TOKEN=… or pass --token-file PATH")
	}
	return secret.New(strings.TrimSuffix(strings.TrimSuffix(v, "\n"), "\r")), nil
}

// newGitLabClient builds the adapter. It always paces on the wall clock:
// TOKENWARDEN_NOW only moves the "now" findings are computed at. The token
// joins the process redactor. timeout 0 is gitlab.DefaultTimeout.
func newGitLabClient(ctx context.Context, url, tokenFile string, timeout time.Duration) (*gitlab.Client, error) {
	u, err := gitlabURL(url)
	if err != nil {
		return nil, err
	}
	tok, err := gitlabToken(tokenFile)
	if err != nil {
		return nil, err
	}
	redactorFrom(ctx).Add(tok)
	c, err := gitlab.New(gitlab.Config{URL: u, Token: tok, Clock: clock.Real{}, Timeout: timeout})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// nowClock is the wall clock, or a clock fixed at $TOKENWARDEN_NOW (RFC 3339).
// TOKENWARDEN_NOW is a testing hook: the testscript `sim start` command sets
// it to the emulator's time so that the CLI and the emulator agree on "now".
// TOKENWARDEN_SIM_CLOCK (the URL of `tokenwarden sim`) is another: the
// process follows the emulator's clock as the tests move it (the
// real-process soak, serve killed and restarted while time jumps).
func nowClock() (clock.Clock, error) {
	if u := os.Getenv("TOKENWARDEN_SIM_CLOCK"); u != "" {
		// Test only: follow the clock of `tokenwarden sim` at u.
		c, err := sim.NewRemoteClock(u)
		if err != nil {
			return nil, fmt.Errorf("TOKENWARDEN_SIM_CLOCK: %w", err)
		}
		return c, nil
	}
	v := os.Getenv("TOKENWARDEN_NOW")
	if v == "" {
		return clock.Real{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, errors.New("TOKENWARDEN_NOW must be an RFC 3339 time such as 2026-11-25T12:00:00Z")
	}
	return clock.NewFake(t), nil
}
