package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

func newInitCmd() *cobra.Command {
	var (
		url, tokenFile, kind, output string
		groups                       []string
		fromScan, force, withVars    bool
		timeout                      = gitlab.DefaultTimeout
	)
	cmd := &cobra.Command{
		Use:   "init --from-scan",
		Short: "Write a config that adopts the group and project access tokens GitLab already has",
		Long: `init --from-scan scans GitLab as scan does and writes a commented config
that adopts every active group and project access token it finds, with its
real scopes, access level, description and (rounded) lifetime. plan on the
file as written changes nothing and shows each token ok.

deliver: is left for you to fill in, with a commented example under each
token: until it is set, a rotation keeps the new secret only in tokenwarden's
journal. Every token scan flags gets a comment with the finding and its fix.

With --variables it also reads every group's and project's CI/CD variables
(as scan --variables) and, for a token found in some (identified with an
administrator's token by POST /admin/token), suggests the deliver: entries
that keep those variables in step with each rotation.

The config goes to stdout, or to -o FILE (never over an existing file unless
--force). The token needs read_api (or api), as for scan.`,
		Example: `  tokenwarden init --from-scan --group platform -o tokenwarden.yaml
  tokenwarden init --from-scan --kind project > tokenwarden.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !fromScan {
				return usageError("init needs --from-scan: the config is written from what a scan finds")
			}
			if kind != "" && kind != "group" && kind != "project" {
				return usageError("--kind must be group or project, not %q", kind)
			}
			if timeout <= 0 {
				return usageError("--timeout must be positive")
			}
			if output != "" && !force {
				if _, err := os.Lstat(output); err == nil {
					return &cliError{code: exitUsage, err: fmt.Errorf("%s already exists", output), hint: "choose another -o FILE, or add --force to replace it"}
				}
			}
			clk, err := nowClock()
			if err != nil {
				return usageError("%v", err)
			}
			u, err := gitlabURL(url)
			if err != nil {
				return err
			}
			client, err := newGitLabClient(cmd.Context(), url, tokenFile, timeout)
			if err != nil {
				return err
			}
			self, err := client.SelfToken(cmd.Context())
			if err != nil {
				return scanError(err)
			}
			progress, done := progressLine(cmd.ErrOrStderr())
			rep, err := inventory.Scan(cmd.Context(), client, inventory.Options{Groups: groups, Progress: progress, Variables: withVars})
			done()
			if err != nil {
				return scanError(err)
			}
			var lives map[int64][]inventory.VariableToken
			if withVars {
				if lives, err = initVariables(cmd.Context(), cmd.ErrOrStderr(), client, rep, clk.Now()); err != nil {
					return err
				}
			}
			if len(rep.Errors) > 0 {
				writeResourceErrors(cmd.ErrOrStderr(), rep.Errors)
				return withHint(fmt.Errorf("init: %d resource(s) could not be scanned; nothing written", len(rep.Errors)),
					"a config without their tokens would not be the whole picture: fix the access, or leave them out with --group")
			}
			name := output
			if name == "" {
				name = "tokenwarden.yaml"
			}
			tokenRef := "token_env: GITLAB_TOKEN"
			if tokenFile != "" {
				tokenRef = "token_file: " + yamlString(tokenFile)
			}
			gen := initConfig{URL: u, TokenRef: tokenRef, Now: clk.Now(), Self: self.ID, Kind: kind, Thresholds: policy.DefaultThresholds(), Lives: lives}
			data, adopted := gen.render(rep.Tokens)
			// What init writes must load: a config error here is a bug, and
			// nothing is written.
			if _, err := config.Parse(name, data); err != nil {
				return fmt.Errorf("init: the config written would not load (a bug in tokenwarden): %w", err)
			}
			if output == "" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			if err := writeFileAtomic(output, data, 0o644); err != nil {
				return fmt.Errorf("init: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d token(s) adopted; fill in deliver: for each, then run: tokenwarden plan -c %s\n", output, adopted, output)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fromScan, "from-scan", false, "write the config from a scan of GitLab (required)")
	f.StringVar(&url, "url", "", "GitLab instance URL (default $GITLAB_URL)")
	f.StringVar(&tokenFile, "token-file", "", "read the GitLab token from this file instead of $GITLAB_TOKEN (the config names it too)")
	f.StringArrayVar(&groups, "group", nil, "full path of a group to adopt the tokens of, with everything below it (repeatable; default: all groups)")
	f.StringVar(&kind, "kind", "", "adopt only group or only project access tokens")
	f.StringVarP(&output, "output", "o", "", "write the config to this file instead of stdout")
	f.BoolVar(&withVars, "variables", false, "also read the CI/CD variables and suggest deliver: for the tokens found in them")
	f.BoolVar(&force, "force", false, "replace -o FILE when it exists")
	f.Var(durationFlag{&timeout}, "timeout", "give up on a request GitLab has not answered within this")
	return cmd
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path: a reader never sees half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// initConfig renders the config init writes.
type initConfig struct {
	URL        string
	TokenRef   string // "token_env: GITLAB_TOKEN" or "token_file: PATH"
	Now        time.Time
	Self       int64 // the calling token's id: not adopted
	Kind       string
	Thresholds policy.Thresholds
	// Lives are, by token id, the CI/CD variables found holding the token
	// (--variables).
	Lives map[int64][]inventory.VariableToken
}

const day = 24 * time.Hour

// yamlString quotes s for YAML (a JSON string is a YAML double-quoted scalar).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// comment makes s safe inside a YAML comment: one line.
func comment(s string) string {
	return strings.Join(strings.Fields(printable(s)), " ")
}

// lifetimeFor is the lifetime to configure for t: its current lifetime in
// whole days, within what the config accepts (over expires_critical plus two
// days, at most 365 days). A token that never expires gets the default.
func (g initConfig) lifetimeFor(t gitlab.Token) time.Duration {
	if t.ExpiresAt == nil {
		return config.DefaultLifetime
	}
	l := t.ExpiresAt.Sub(t.CreatedAt).Round(day)
	if min := g.Thresholds.ExpiresCritical + 2*day; l < min {
		l = min
	}
	if l > config.MaxLifetime {
		l = config.MaxLifetime
	}
	return l
}

// rotateBefore returns the rotate_before to write (0: the default, one
// third of the lifetime) so that t is not due now, and whether t is due
// anyway (it expires within expires_critical, or never).
func (g initConfig) rotateBefore(t gitlab.Token, lifetime time.Duration) (time.Duration, bool) {
	if t.ExpiresAt == nil {
		return 0, true
	}
	left := t.ExpiresAt.Sub(g.Now)
	critical := g.Thresholds.ExpiresCritical
	if max(lifetime/3, critical) < left {
		return 0, false
	}
	// Shorter than the default: renewed a day or more from now, never
	// inside expires_critical, and leaving a new token a day of life.
	r := (left - day).Truncate(day)
	if r <= critical || r >= lifetime-day {
		return 0, true
	}
	return r, false
}

// render writes the config for tokens and says how many it adopts.
func (g initConfig) render(tokens []gitlab.Token) ([]byte, int) {
	type key struct{ typ, path, name string }
	byKey := map[key][]gitlab.Token{}
	var keys []key
	skipped := map[string]int{}
	for _, t := range tokens {
		typ := t.Resource.Type
		switch {
		case typ != "group" && typ != "project":
			continue
		case g.Kind != "" && typ != g.Kind:
			continue
		case t.State(g.Now) != gitlab.StateActive:
			skipped[t.State(g.Now)]++
			continue
		}
		k := key{typ, t.Resource.Path, t.Name}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], t)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.path != b.path {
			return a.path < b.path
		}
		if a.typ != b.typ {
			return a.typ < b.typ
		}
		return a.name < b.name
	})

	var b strings.Builder
	fmt.Fprintf(&b, `# tokenwarden config written by "tokenwarden init --from-scan" on %s
# from %s. It adopts the active group and project access tokens found
# there, each with its real scopes, access level and description: as written,
# "tokenwarden plan -c FILE" shows every token ok and changes nothing.
#
# Before a token's renewal date (in the comment above it), fill in its
# deliver: (where each new secret goes; examples under each token): a token
# without deliver: is renewed on schedule with the new secret kept only in
# tokenwarden's journal, and its old one revoked after the grace period. Once
# deliver: is set, apply rotates an adopted token at once so that its sinks
# get a secret tokenwarden knows; add "adopt: wait" to the token to wait for
# its renewal date instead. Lines marked "!" are what scan flags.
gitlab:
  url: %s
  %s    # the managing token; never write it in this file
state: sqlite://tokenwarden.db  # the journal, relative to this file (or postgres://…)
defaults:
  strategy: overlap  # overlap | rotate | self
  grace: 1h          # overlap: how long the old token lives on after delivery
`, g.Now.UTC().Format(time.DateOnly), comment(g.URL), yamlString(g.URL), g.TokenRef)
	adopted := 0
	var notAdopted []string
	if len(keys) == 0 {
		b.WriteString("tokens: []  # the scan found no active group or project access token\n")
	} else {
		b.WriteString("tokens:\n")
	}
	for _, k := range keys {
		ts := byKey[k]
		// A config entry matches the newest active token with its name.
		sort.Slice(ts, func(i, j int) bool {
			if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
				return ts[i].CreatedAt.After(ts[j].CreatedAt)
			}
			return ts[i].ID > ts[j].ID
		})
		t := ts[0]
		where := fmt.Sprintf("%s %s: token %q (id %d)", k.typ, k.path, comment(t.Name), t.ID)
		if t.ID == g.Self {
			notAdopted = append(notAdopted, where+": the token tokenwarden runs with (see gitlab.self_rotate)")
			continue
		}
		var bad []string
		for _, s := range t.Scopes {
			if !config.ValidScope(s) {
				bad = append(bad, s)
			}
		}
		level := config.AccessLevelName(t.AccessLevel)
		if _, ok := config.AccessLevel(level); !ok {
			notAdopted = append(notAdopted, fmt.Sprintf("%s: access level %d is not one a config can name", where, t.AccessLevel))
			continue
		}
		if len(bad) > 0 || len(t.Scopes) == 0 {
			notAdopted = append(notAdopted, fmt.Sprintf("%s: scopes %v are not ones a config can name", where, t.Scopes))
			continue
		}
		adopted++
		lifetime := g.lifetimeFor(t)
		rb, due := g.rotateBefore(t, lifetime)
		b.WriteString("\n")
		fmt.Fprintf(&b, "  # %s token id %d on %s · created %s · expires %s · last used %s\n",
			k.typ, t.ID, comment(k.path), t.CreatedAt.UTC().Format(time.DateOnly), dateOrDash(t.ExpiresAt, "never"), dateOrDash(t.LastUsedAt, "never"))
		for _, other := range ts[1:] {
			fmt.Fprintf(&b, "  # also active with this name: token id %d (created %s), not adopted: a config entry matches the newest; revoke it when nothing uses it\n",
				other.ID, other.CreatedAt.UTC().Format(time.DateOnly))
		}
		row := policy.Evaluated(t, g.Now, g.Thresholds)
		for _, f := range row.Findings {
			fmt.Fprintf(&b, "  # ! %s %s: %s\n", f.Severity, f.Code, comment(f.Message))
			if f.Fix != "" {
				fmt.Fprintf(&b, "  #     fix: %s\n", comment(f.Fix))
			}
		}
		switch {
		case t.ExpiresAt == nil:
			b.WriteString("  # never expires: the first apply replaces it with one that does\n")
		case due:
			fmt.Fprintf(&b, "  # due for renewal now (expires %s): fill in deliver: before the next apply, which rotates it\n", t.ExpiresAt.UTC().Format(time.DateOnly))
		default:
			before := rb
			if before == 0 {
				before = max(lifetime/3, g.Thresholds.ExpiresCritical)
			}
			fmt.Fprintf(&b, "  # renewed from %s: fill in deliver: before then\n", t.ExpiresAt.Add(-before).UTC().Format(time.DateOnly))
		}
		fmt.Fprintf(&b, "  - name: %s\n", yamlString(t.Name))
		if t.Description != "" {
			fmt.Fprintf(&b, "    description: %s\n", yamlString(t.Description))
		} else {
			b.WriteString("    # description: who uses it and where it is delivered\n")
		}
		fmt.Fprintf(&b, "    %s: %s\n", k.typ, yamlString(k.path))
		fmt.Fprintf(&b, "    scopes: [%s]\n", strings.Join(t.Scopes, ", "))
		fmt.Fprintf(&b, "    access_level: %s\n", level)
		if t.ExpiresAt != nil {
			fmt.Fprintf(&b, "    lifetime: %s  # its current lifetime: %s → %s\n", duration.Format(lifetime), t.CreatedAt.UTC().Format(time.DateOnly), t.ExpiresAt.UTC().Format(time.DateOnly))
		} else {
			fmt.Fprintf(&b, "    lifetime: %s\n", duration.Format(lifetime))
		}
		if rb > 0 {
			fmt.Fprintf(&b, "    rotate_before: %s  # shorter than a third of the lifetime, so that it is not due at once\n", duration.Format(rb))
		}
		if g.writeFoundDeliver(&b, t) {
			continue
		}
		envKey := envKeyFor(t.Name)
		fmt.Fprintf(&b, "    # deliver:\n")
		fmt.Fprintf(&b, "    #   - gitlab_variable: {%s: %s, key: %s, masked: true, protected: true}\n", k.typ, yamlString(k.path), envKey)
		fmt.Fprintf(&b, "    #   - file: {path: /etc/app/%s.env, format: dotenv, key: %s}\n", strings.ToLower(strings.ReplaceAll(envKey, "_", "-")), envKey)
	}
	if len(notAdopted) > 0 || len(skipped) > 0 {
		b.WriteString("\n# Not adopted:\n")
		for _, n := range notAdopted {
			fmt.Fprintf(&b, "#   %s\n", n)
		}
		for _, st := range []string{gitlab.StateExpired, gitlab.StateRevoked} {
			if n := skipped[st]; n > 0 {
				fmt.Fprintf(&b, "#   %d %s token(s)\n", n, st)
			}
		}
	}
	return []byte(b.String()), adopted
}

// envKeyFor makes a variable name from a token name: NAME_TOKEN.
func envKeyFor(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	s := strings.TrimSuffix(b.String(), "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "T_" + s
	}
	if !strings.HasSuffix(s, "TOKEN") {
		s += "_TOKEN"
	}
	return s
}

// writeFoundDeliver writes, commented, the deliver: entries that keep the
// variables found holding t in step, and reports whether it wrote any.
func (g initConfig) writeFoundDeliver(b *strings.Builder, t gitlab.Token) bool {
	found := g.Lives[t.ID]
	if len(found) == 0 {
		return false
	}
	b.WriteString("    # found in CI/CD variables: uncomment to keep them in step with each rotation\n")
	b.WriteString("    # deliver:\n")
	for _, v := range found {
		if !v.Whole {
			fmt.Fprintf(b, "    #   (also in %s, inside the value: update it by hand after a rotation, or with an exec sink)\n", comment(v.Place()))
			continue
		}
		attrs := []string{v.Resource.Type + ": " + yamlString(v.Resource.Path), "key: " + v.Key}
		switch {
		case v.Hidden:
			attrs = append(attrs, "hidden: true")
		case v.Masked:
			attrs = append(attrs, "masked: true")
		}
		if v.Protected {
			attrs = append(attrs, "protected: true")
		}
		if v.Scope != "" && v.Scope != "*" {
			attrs = append(attrs, "environment_scope: "+yamlString(v.Scope))
		}
		fmt.Fprintf(b, "    #   - gitlab_variable: {%s}\n", strings.Join(attrs, ", "))
	}
	return true
}

// initVariables identifies the tokens rep's variables hold (POST
// /admin/token: an administrator only) and groups the variables by token id.
func initVariables(ctx context.Context, stderr io.Writer, c *gitlab.Client, rep *inventory.Report, now time.Time) (map[int64][]inventory.VariableToken, error) {
	red := redactorFrom(ctx)
	for _, v := range rep.Variables {
		red.Add(v.Found.Secret)
	}
	if !rep.User.Admin {
		fmt.Fprintf(stderr, "init --variables: %d variable(s) hold GitLab tokens, but only an administrator's token can say which (POST /admin/token): no deliver: suggested\n", len(rep.Variables))
		return nil, nil
	}
	if _, err := inventory.Identify(ctx, c, rep, inventory.IdentifyOptions{Admin: true, Now: now}); err != nil {
		return nil, fmt.Errorf("init --variables: %w", err)
	}
	out := map[int64][]inventory.VariableToken{}
	for _, v := range rep.Variables {
		if t := v.Ident.Token; t != nil && !v.Hidden {
			out[t.ID] = append(out[t.ID], v)
		}
	}
	return out, nil
}
