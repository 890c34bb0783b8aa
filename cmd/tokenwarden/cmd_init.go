package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
		url, tokenFile, output    string
		groups, kinds             []string
		fromScan, force, withVars bool
		timeout                   = gitlab.DefaultTimeout
	)
	cmd := &cobra.Command{
		Use:   "init --from-scan",
		Short: "Write a config that adopts the tokens GitLab already has",
		Long: `init --from-scan scans GitLab as scan does and writes a commented config
that adopts every active group and project access token it finds, with its
real scopes, access level, description and (rounded) lifetime. plan on the
file as written changes nothing and shows each token ok. With --kind it
adopts deploy tokens and pipeline trigger tokens too (--kind all: all four).

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
  tokenwarden init --from-scan --kind project_access_token > tokenwarden.yaml
  tokenwarden init --from-scan --kind all -o tokenwarden.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !fromScan {
				return usageError("init needs --from-scan: the config is written from what a scan finds")
			}
			kindList, err := initKinds(kinds)
			if err != nil {
				return err
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
			rep, err := inventory.Scan(cmd.Context(), client, inventory.Options{Groups: groups, Progress: progress, Variables: withVars, Kinds: kindList})
			done()
			if err != nil {
				return scanError(err)
			}
			var lives map[tokenKey][]inventory.VariableToken
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
			gen := initConfig{URL: u, TokenRef: tokenRef, Now: clk.Now(), Self: self, Kinds: kindList, Thresholds: policy.DefaultThresholds(), Lives: lives}
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
	f.StringSliceVar(&kinds, "kind", nil, "credential kinds to adopt, comma-separated or repeated: "+strings.Join(initKindNames, ", ")+", or all (default: group_access_token,project_access_token; group and project name the access tokens of one)")
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
	Self       gitlab.Token // the calling token: not adopted; its user owns the trigger tokens it can read
	Kinds      []string     // credential kinds to adopt (initKindNames)
	Thresholds policy.Thresholds
	// Lives are, by token, the CI/CD variables found holding it
	// (--variables).
	Lives map[tokenKey][]inventory.VariableToken
}

// tokenKey tells tokens apart across kinds: GitLab numbers access, deploy
// and trigger tokens each on their own.
type tokenKey struct {
	kind string
	id   int64
}

func keyOf(t gitlab.Token) tokenKey { return tokenKey{t.TokenKind(), t.ID} }

// initKindNames are the credential kinds init writes entries for. Service
// accounts' and runners' tokens are managed too, but their entries need
// what a scan cannot tell (the service account's group, the runner's
// config.toml): the README shows how to write them.
var initKindNames = []string{gitlab.KindGroupAccessToken, gitlab.KindProjectAccessToken, gitlab.KindDeployToken, gitlab.KindTriggerToken}

// initKinds parses init's --kind: the kinds of initKindNames, all of them
// (all), or group and project, the names of the access tokens of one that
// --kind had before it took credential kinds. Default: access tokens.
func initKinds(in []string) ([]string, error) {
	var out []string
	for _, k := range in {
		switch k = strings.TrimSpace(k); k {
		case "all":
			return initKindNames, nil
		case "group":
			k = gitlab.KindGroupAccessToken
		case "project":
			k = gitlab.KindProjectAccessToken
		}
		switch {
		case slices.Contains(initKindNames, k):
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		case slices.Contains(gitlab.Kinds, k):
			return nil, withHint(usageError("--kind %s: init does not write entries for this kind", k),
				"init writes "+strings.Join(initKindNames, ", ")+"; see the README for a "+k+" entry, and `tokenwarden scan --kind "+k+"` for what there is")
		default:
			return nil, withHint(usageError("--kind %q is not a credential kind init adopts", k), "use one of "+strings.Join(initKindNames, ", ")+", or all")
		}
	}
	if len(out) == 0 {
		return initKindNames[:2], nil
	}
	return out, nil
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
// days, at most 365 days). A token that never expires, or whose creation
// GitLab does not show (a deploy token), gets the default.
func (g initConfig) lifetimeFor(t gitlab.Token) time.Duration {
	if t.ExpiresAt == nil || t.CreatedAt.IsZero() {
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
	if len(g.Kinds) == 0 {
		g.Kinds = initKindNames[:2] // init's default: access tokens
	}
	type key struct{ typ, path, kind, name string }
	byKey := map[key][]gitlab.Token{}
	var keys []key
	skipped := map[string]int{}
	for _, t := range tokens {
		typ := t.Resource.Type
		switch {
		case typ != "group" && typ != "project":
			continue
		case !slices.Contains(g.Kinds, t.TokenKind()):
			continue
		case t.State(g.Now) != gitlab.StateActive:
			skipped[t.State(g.Now)]++
			continue
		}
		// A config entry names a deploy or trigger token tokenwarden
		// rotated without the rotation's marker, as plan matches it.
		k := key{typ, t.Resource.Path, t.TokenKind(), gitlab.Unmarked(t.Name)}
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
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.name < b.name
	})

	var b strings.Builder
	fmt.Fprintf(&b, `# tokenwarden config written by "tokenwarden init --from-scan" on %s
# from %s. It adopts the active %s found
# there, each with its real scopes, access level and description: as written,
# "tokenwarden plan -c FILE" shows every token ok and changes nothing.%s
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
`, g.Now.UTC().Format(time.DateOnly), comment(g.URL), kindsPhrase(g.Kinds), g.otherKindsNote(), yamlString(g.URL), g.TokenRef)
	adopted := 0
	var notAdopted []string
	if len(keys) == 0 {
		fmt.Fprintf(&b, "tokens: []  # the scan found no active %s\n", kindsPhrase(g.Kinds))
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
		where := fmt.Sprintf("%s %s: %s %q (id %d)", k.typ, k.path, initNoun(k.kind), comment(k.name), t.ID)
		if why := g.notAdoptable(t); why != "" {
			notAdopted = append(notAdopted, where+": "+why)
			continue
		}
		adopted++
		lifetime := g.lifetimeFor(t)
		rb, due := g.rotateBefore(t, lifetime)
		b.WriteString("\n")
		created, lastUsed := "unknown", "not reported by GitLab"
		if !t.CreatedAt.IsZero() {
			created = t.CreatedAt.UTC().Format(time.DateOnly)
		}
		if !t.UsageUnknown || t.LastUsedAt != nil {
			lastUsed = dateOrDash(t.LastUsedAt, "never")
		}
		fmt.Fprintf(&b, "  # %s %s id %d on %s · created %s · expires %s · last used %s\n",
			k.typ, initNoun(k.kind), t.ID, comment(k.path), created, dateOrDash(t.ExpiresAt, "never"), lastUsed)
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
		if k.kind == gitlab.KindTriggerToken {
			if t.UserID == g.Self.UserID {
				b.WriteString("  # owned by the managing token's user, who GitLab shows its secret to: adopted as it is, no rotation\n")
			} else {
				fmt.Fprintf(&b, "  # owned by %s: GitLab shows its secret to its owner only, so once deliver: is set the next apply rotates it (the new one is the managing token's user's)\n", comment(t.Owner))
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
		fmt.Fprintf(&b, "  - name: %s\n", yamlString(k.name))
		g.writeKindFields(&b, k.typ, k.path, t)
		switch {
		case t.ExpiresAt != nil && t.CreatedAt.IsZero():
			fmt.Fprintf(&b, "    lifetime: %s  # the default: GitLab does not show when a %s was created\n", duration.Format(lifetime), initNoun(k.kind))
		case t.ExpiresAt != nil:
			fmt.Fprintf(&b, "    lifetime: %s  # its current lifetime: %s → %s\n", duration.Format(lifetime), t.CreatedAt.UTC().Format(time.DateOnly), t.ExpiresAt.UTC().Format(time.DateOnly))
		default:
			fmt.Fprintf(&b, "    lifetime: %s\n", duration.Format(lifetime))
		}
		if rb > 0 {
			fmt.Fprintf(&b, "    rotate_before: %s  # shorter than a third of the lifetime, so that it is not due at once\n", duration.Format(rb))
		}
		if g.writeFoundDeliver(&b, t) {
			continue
		}
		writeDeliverExample(&b, k.typ, k.path, k.kind, k.name)
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

// initNouns name the credential kinds in init's comments; an access token
// is a "token".
var initNouns = map[string]string{gitlab.KindDeployToken: "deploy token", gitlab.KindTriggerToken: "trigger token"}

func initNoun(kind string) string { return cmp.Or(initNouns[kind], "token") }

// kindsPhrase names the kinds init adopts, for its header.
func kindsPhrase(kinds []string) string {
	var parts []string
	group, project := slices.Contains(kinds, gitlab.KindGroupAccessToken), slices.Contains(kinds, gitlab.KindProjectAccessToken)
	switch {
	case group && project:
		parts = append(parts, "group and project access tokens")
	case group:
		parts = append(parts, "group access tokens")
	case project:
		parts = append(parts, "project access tokens")
	}
	if slices.Contains(kinds, gitlab.KindDeployToken) {
		parts = append(parts, "deploy tokens")
	}
	if slices.Contains(kinds, gitlab.KindTriggerToken) {
		parts = append(parts, "pipeline trigger tokens")
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// otherKindsNote tells, in the header, how to adopt the kinds left out.
func (g initConfig) otherKindsNote() string {
	if slices.Contains(g.Kinds, gitlab.KindDeployToken) || slices.Contains(g.Kinds, gitlab.KindTriggerToken) {
		return ""
	}
	return "\n# Deploy tokens and pipeline trigger tokens are not in it: init --kind all adds them."
}

// notAdoptable says why t cannot be written as a config entry, or "".
func (g initConfig) notAdoptable(t gitlab.Token) string {
	kind := t.TokenKind()
	switch {
	case t.ID == g.Self.ID && kind == g.Self.TokenKind():
		return "the token tokenwarden runs with (see gitlab.self_rotate)"
	case kind == gitlab.KindTriggerToken:
		if gitlab.Unmarked(t.Name) == "" {
			return "it has no description, which is what a config names a trigger token by"
		}
		return ""
	case kind == gitlab.KindDeployToken:
		if bad := slices.DeleteFunc(slices.Clone(t.Scopes), func(s string) bool { return slices.Contains(config.DeployTokenScopes, s) }); len(bad) > 0 || len(t.Scopes) == 0 {
			return fmt.Sprintf("scopes %v are not ones a config can name", t.Scopes)
		}
		return ""
	}
	if _, ok := config.AccessLevel(config.AccessLevelName(t.AccessLevel)); !ok {
		return fmt.Sprintf("access level %d is not one a config can name", t.AccessLevel)
	}
	if bad := slices.DeleteFunc(slices.Clone(t.Scopes), config.ValidScope); len(bad) > 0 || len(t.Scopes) == 0 {
		return fmt.Sprintf("scopes %v are not ones a config can name", t.Scopes)
	}
	return ""
}

// defaultDeployUsername is the username GitLab gives a deploy token made
// without one: a config leaves it out, so that each new token gets its own.
var defaultDeployUsername = regexp.MustCompile(`\Agitlab\+deploy-token-\d+\z`)

// writeKindFields writes what an entry of t's kind says after its name:
// where it lives, and the kind's own settings.
func (g initConfig) writeKindFields(b *strings.Builder, typ, path string, t gitlab.Token) {
	switch t.TokenKind() {
	case gitlab.KindDeployToken:
		b.WriteString("    kind: deploy_token\n")
		fmt.Fprintf(b, "    %s: %s\n", typ, yamlString(path))
		fmt.Fprintf(b, "    scopes: [%s]\n", strings.Join(t.Scopes, ", "))
		if !defaultDeployUsername.MatchString(t.Username) {
			fmt.Fprintf(b, "    username: %s\n", yamlString(t.Username))
		}
		b.WriteString("    strategy: overlap  # GitLab cannot rotate a deploy token: a new one is created\n")
	case gitlab.KindTriggerToken:
		b.WriteString("    kind: trigger_token\n")
		fmt.Fprintf(b, "    %s: %s\n", typ, yamlString(path))
		b.WriteString("    strategy: overlap  # GitLab cannot rotate a trigger token: a new one is created\n")
	default:
		if t.Description != "" {
			fmt.Fprintf(b, "    description: %s\n", yamlString(t.Description))
		} else {
			b.WriteString("    # description: who uses it and where it is delivered\n")
		}
		fmt.Fprintf(b, "    %s: %s\n", typ, yamlString(path))
		fmt.Fprintf(b, "    scopes: [%s]\n", strings.Join(t.Scopes, ", "))
		fmt.Fprintf(b, "    access_level: %s\n", config.AccessLevelName(t.AccessLevel))
	}
}

// writeDeliverExample writes a commented deliver: for the entry to fill in.
func writeDeliverExample(b *strings.Builder, typ, path, kind, name string) {
	envKey := envKeyFor(name)
	file := strings.ToLower(strings.ReplaceAll(envKey, "_", "-"))
	b.WriteString("    # deliver:\n")
	if kind == gitlab.KindDeployToken {
		userKey := strings.TrimSuffix(envKey, "_TOKEN") + "_USER"
		fmt.Fprintf(b, "    #   - gitlab_variable: {%s: %s, key: %s, username_key: %s, masked: true, protected: true}\n", typ, yamlString(path), envKey, userKey)
		fmt.Fprintf(b, "    #   - file: {path: /etc/app/%s.env, format: dotenv, key: %s, username_key: %s}\n", file, envKey, userKey)
		return
	}
	fmt.Fprintf(b, "    #   - gitlab_variable: {%s: %s, key: %s, masked: true, protected: true}\n", typ, yamlString(path), envKey)
	fmt.Fprintf(b, "    #   - file: {path: /etc/app/%s.env, format: dotenv, key: %s}\n", file, envKey)
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
	found := g.Lives[keyOf(t)]
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
func initVariables(ctx context.Context, stderr io.Writer, c *gitlab.Client, rep *inventory.Report, now time.Time) (map[tokenKey][]inventory.VariableToken, error) {
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
	out := map[tokenKey][]inventory.VariableToken{}
	for _, v := range rep.Variables {
		if t := v.Ident.Token; t != nil && !v.Hidden {
			out[keyOf(*t)] = append(out[keyOf(*t)], v)
		}
	}
	return out, nil
}
