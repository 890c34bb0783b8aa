// Package cleanup owns `revoke`: which tokens nobody needs (Select, from a
// scan's inventory and the user's selectors) and revoking them concurrently
// with every outcome written to the journal (Revoke). It has no CLI in it.
package cleanup

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// Criteria say which tokens to revoke. A token is selected when any
// selector (Unused, Expired, Findings) matches it, it is not excluded, and
// it is not revoked already.
type Criteria struct {
	// Unused selects tokens last used longer ago than this, or never used
	// and created longer ago than this. 0: off.
	Unused time.Duration
	// Expired selects tokens whose expiry date has passed.
	Expired bool
	// Findings selects tokens with any of these scan finding codes.
	Findings []string
	// Exclude keeps tokens whose name matches any of these globs (path.Match
	// syntax, but * and ? also match a "/").
	Exclude []string
	// Thresholds tune the findings that Findings looks at.
	Thresholds policy.Thresholds
	// Managed holds the refs (see Ref) of the tokens tokenwarden's config
	// manages; they are skipped unless IncludeManaged.
	Managed        map[string]bool
	IncludeManaged bool
}

// Errors of Criteria.Validate, for the CLI to turn into usage errors.
var (
	ErrNoSelector  = errors.New("no selector")
	ErrBadCriteria = errors.New("invalid criteria")
)

// Validate reports criteria that select nothing or cannot be applied.
func (c Criteria) Validate() error {
	if c.Unused == 0 && !c.Expired && len(c.Findings) == 0 {
		return fmt.Errorf("%w: say which tokens to revoke with --unused, --expired or --finding", ErrNoSelector)
	}
	codes := FindingCodes()
	for _, f := range c.Findings {
		if !slices.Contains(codes, f) {
			return fmt.Errorf("%w: unknown finding %q (one of %s)", ErrBadCriteria, f, strings.Join(codes, ", "))
		}
	}
	for _, g := range c.Exclude {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("%w: exclude pattern %q: %v", ErrBadCriteria, g, err)
		}
	}
	return nil
}

// FindingCodes are the codes Criteria.Findings accepts: every scan finding.
func FindingCodes() []string {
	codes := make([]string, len(policy.Checks))
	for i, c := range policy.Checks {
		codes[i] = c.Code
	}
	return codes
}

// Ref names a token as the config and the journal do:
// "group/platform/infra:deploy", "project/platform/app:ci",
// "user/alice:laptop".
func Ref(t gitlab.Token) string {
	return t.Resource.Type + "/" + t.Resource.Path + ":" + t.Name
}

// ManagedKey is how a ref is compared with the config's refs: GitLab paths
// are case-insensitive, token names are not. A rotation marker in the name
// (a deploy token tokenwarden created: "pull [tokenwarden rot-…]") is not
// part of it.
func ManagedKey(resourceType, resourcePath, name string) string {
	if resourceType == "runner" {
		return "runner/" + resourcePath // a runner has one token, whatever the entry's name
	}
	name = gitlab.Unmarked(name)
	return resourceType + "/" + strings.ToLower(strings.Trim(resourcePath, "/")) + ":" + name
}

// KeyOf is t's ManagedKey: a runner token by its runner's id (the config
// names a runner by id), any other by its resource and name.
func KeyOf(t gitlab.Token) string {
	if t.TokenKind() == gitlab.KindRunnerToken {
		return ManagedKey("runner", strconv.FormatInt(t.ID, 10), "")
	}
	return ManagedKey(t.Resource.Type, t.Resource.Path, t.Name)
}

// Candidate is a token that matched, with why.
type Candidate struct {
	Token    gitlab.Token
	Reason   string           // the selectors that matched, e.g. "unused 132 days"
	Findings []policy.Finding // what scan says about it
}

// Selection is the outcome of Select.
type Selection struct {
	Revoke  []Candidate // to revoke, in the order given
	Managed []Candidate // matched, but managed by the config (skipped)
}

// Select picks the tokens to revoke from an inventory at now.
func Select(tokens []gitlab.Token, now time.Time, c Criteria) Selection {
	var sel Selection
	for _, t := range tokens {
		if t.Revoked || excluded(t.Name, c.Exclude) {
			continue
		}
		fs := policy.Evaluate(t, now, c.Thresholds)
		reasons := matches(t, fs, now, c)
		if len(reasons) == 0 {
			continue
		}
		cand := Candidate{Token: t, Reason: strings.Join(reasons, "; "), Findings: fs}
		if !c.IncludeManaged && c.Managed[KeyOf(t)] {
			sel.Managed = append(sel.Managed, cand)
			continue
		}
		sel.Revoke = append(sel.Revoke, cand)
	}
	return sel
}

// excluded matches name against the globs. Token names are free text, so a
// "/" in one is an ordinary character: path.Match's * would stop at it and
// let "break-glass*" miss "break-glass/eu" — and revoke the very token the
// user meant to keep.
func excluded(name string, globs []string) bool {
	const sep = "\x00" // a character no token name holds
	name = strings.ReplaceAll(name, "/", sep)
	for _, g := range globs {
		if ok, _ := path.Match(strings.ReplaceAll(g, "/", sep), name); ok {
			return true
		}
	}
	return false
}

// matches returns, for each selector that matches t, why.
func matches(t gitlab.Token, fs []policy.Finding, now time.Time, c Criteria) []string {
	var out []string
	if c.Unused > 0 {
		if why, ok := unused(t, now, c.Unused); ok {
			out = append(out, why)
		}
	}
	if c.Expired && t.Expired(now) {
		out = append(out, "expired on "+t.ExpiresAt.UTC().Format(time.DateOnly))
	}
	for _, code := range c.Findings {
		if slices.ContainsFunc(fs, func(f policy.Finding) bool { return f.Code == code }) {
			out = append(out, "finding "+code)
		}
	}
	return out
}

// unused: last used longer ago than after, or never used and created
// longer ago than after.
func unused(t gitlab.Token, now time.Time, after time.Duration) (string, bool) {
	if t.LastUsedAt != nil {
		return fmt.Sprintf("unused %d days", days(*t.LastUsedAt, now)), now.Sub(*t.LastUsedAt) > after
	}
	if t.UsageUnknown || t.CreatedAt.IsZero() {
		return "", false // GitLab does not say (deploy tokens): never select it as unused
	}
	return fmt.Sprintf("never used, created %d days ago", days(t.CreatedAt, now)), now.Sub(t.CreatedAt) > after
}

// days counts calendar days (UTC) from from to to, as scan's findings do.
func days(from, to time.Time) int {
	return int(to.UTC().Truncate(duration.Day).Sub(from.UTC().Truncate(duration.Day)) / duration.Day)
}
