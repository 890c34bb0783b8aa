package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

const dateOnly = "2006-01-02"

// writeScanTable prints one line per token, most urgent first, each finding
// indented beneath it, then a summary line. Lines stay within 120 columns.
func writeScanTable(w io.Writer, r scanResult) error {
	var out strings.Builder
	writeTokenTable(&out, r.Rows, func(row scanRow) []string {
		var notes []string
		if row.Self {
			notes = append(notes, selfNote)
		}
		for _, l := range row.Lives {
			notes = append(notes, "    lives in "+l)
		}
		return notes
	})
	writeVariablesTable(&out, r)
	out.WriteString("\n" + summaryLine(r) + "\n")
	_, err := io.WriteString(w, out.String())
	return err
}

// tableWidth is the widest line writeTokenTable writes.
const tableWidth = 120

// writeTokenTable writes scan's token table: a header, one line per row and
// the row's findings indented beneath it. notes, when set, gives more
// indented lines for a row, printed before its findings.
func writeTokenTable(out *strings.Builder, rows []scanRow, notes func(scanRow) []string) {
	type col struct {
		title string
		width int
		right bool
	}
	cols := []col{
		{"RESOURCE", 28, false}, {"NAME", 18, false}, {"SCOPES", 18, false}, {"ROLE", 10, false},
		{"EXPIRES", 10, false}, {"LEFT", 4, true}, {"LAST USED", 10, false}, {"STATE", 7, false},
	}
	// Only access tokens (today's scan): the table as it always was. Other
	// kinds add a KIND column, taken from RESOURCE and SCOPES.
	withKind := slices.ContainsFunc(rows, func(r scanRow) bool { return !gitlab.AccessTokenKind(r.Token.TokenKind()) })
	if withKind {
		cols = append([]col{{"KIND", 8, false}}, cols...)
		cols[1].width, cols[3].width = 22, 14
	}
	line := func(cells ...string) string {
		var b strings.Builder
		for i, c := range cols {
			v := printable(cells[i])
			if c.title == "RESOURCE" {
				v = truncLeft(v, c.width)
			} else {
				v = trunc(v, c.width)
			}
			pad := strings.Repeat(" ", c.width-cellWidth(v))
			if c.right {
				b.WriteString(pad + v)
			} else {
				b.WriteString(v + pad)
			}
			if i < len(cols)-1 {
				b.WriteString("  ")
			}
		}
		return strings.TrimRight(b.String(), " ") + "\n"
	}
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	out.WriteString(line(titles...))
	for _, row := range rows {
		t := row.Token
		cells := []string{t.Resource.Path, t.Name, strings.Join(t.Scopes, ","), roleName(t),
			expiresCell(t), daysLeft(row.DaysLeft), lastUsedCell(t), row.State}
		if withKind {
			cells = append([]string{kindLabel(t.TokenKind())}, cells...)
		}
		out.WriteString(line(cells...))
		if notes != nil {
			for _, n := range notes(row) {
				out.WriteString(trunc(printable(n), tableWidth) + "\n")
			}
		}
		for _, f := range row.Findings {
			out.WriteString(trunc(printable(fmt.Sprintf("    %-8s  %s: %s", f.Severity, f.Code, f.Message)), tableWidth) + "\n")
		}
	}
}

func summaryLine(r scanResult) string {
	s := r.Summary
	line := fmt.Sprintf("%d tokens (%d active, %d expired, %d revoked) in %d groups and %d projects · %d critical · %d warning findings",
		s.Tokens, s.Active, s.Expired, s.Revoked, s.Groups, s.Projects, s.Critical, s.Warning)
	if s.Errors > 0 {
		line += fmt.Sprintf(" · %d resources could not be scanned", s.Errors)
	}
	if r.Variables != nil {
		line += fmt.Sprintf("\n%d of %d CI/CD variables hold GitLab tokens or are hidden", s.VariableTokens, s.Variables)
	}
	return line
}

type jsonFinding = policy.Finding

type jsonToken struct {
	ID              int64         `json:"id"`
	Kind            string        `json:"kind"`
	Name            string        `json:"name"`
	Username        string        `json:"username,omitempty"` // deploy tokens
	Description     string        `json:"description"`
	ResourceType    string        `json:"resource_type"`
	ResourceID      int64         `json:"resource_id"`
	ResourcePath    string        `json:"resource_path"`
	Scopes          []string      `json:"scopes"`
	AccessLevel     int           `json:"access_level"`
	AccessLevelName string        `json:"access_level_name"`
	CreatedAt       string        `json:"created_at"`
	ExpiresAt       *string       `json:"expires_at"`
	DaysLeft        *int          `json:"days_left"`
	LastUsedAt      *string       `json:"last_used_at"`
	ExpiryUnknown   bool          `json:"expiry_unknown,omitempty"` // runner tokens: GitLab does not show it
	State           string        `json:"state"`
	Findings        []jsonFinding `json:"findings"`
	// Self marks the token the scan ran with.
	Self bool `json:"self,omitempty"`
	// Lives: where the token is kept (scan --variables).
	Lives []string `json:"lives,omitempty"`
}

type jsonError struct {
	ResourceType string `json:"resource_type"`
	ResourcePath string `json:"resource_path"`
	Error        string `json:"error"`
}

// csvSafe defuses cells a spreadsheet would run as a formula: token names
// and descriptions are written by whoever created the token.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func roleName(t gitlab.Token) string {
	if t.Resource.Type == "user" || t.AccessLevel == 0 {
		return "-"
	}
	return gitlab.AccessLevelName(t.AccessLevel)
}

// kindLabel is a kind in the table's 8 columns.
func kindLabel(kind string) string {
	switch kind {
	case gitlab.KindGroupAccessToken, gitlab.KindProjectAccessToken:
		return "access"
	case gitlab.KindPersonalAccessToken:
		return "personal"
	case gitlab.KindServiceAccountToken:
		return "svc-acct"
	case gitlab.KindDeployToken:
		return "deploy"
	case gitlab.KindTriggerToken:
		return "trigger"
	case gitlab.KindRunnerToken:
		return "runner"
	}
	return kind
}

func expiresCell(t gitlab.Token) string {
	if t.ExpiryUnknown {
		return "unknown"
	}
	return dateOrDash(t.ExpiresAt, "never")
}

func lastUsedCell(t gitlab.Token) string {
	if t.UsageUnknown && t.LastUsedAt == nil {
		return "-"
	}
	return dateOrDash(t.LastUsedAt, "never")
}

func dateOrDash(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(dateOnly)
}

func dateOrEmpty(t *time.Time, layout string) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(layout)
}

func daysLeft(d *int) string {
	if d == nil {
		return "-"
	}
	return strconv.Itoa(*d)
}

// printable replaces control characters (a token name may hold anything)
// so that one row stays one line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// cellWidth is how many terminal columns s takes: East Asian wide and
// fullwidth characters take two.
func cellWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// trunc shortens s to at most n columns, marking the cut with "…".
func trunc(s string, n int) string {
	if cellWidth(s) <= n {
		return s
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		if w+runeWidth(r) > n-1 {
			break
		}
		b.WriteRune(r)
		w += runeWidth(r)
	}
	return b.String() + "…"
}

// truncLeft shortens s to at most n columns from the left: for paths the end
// says most.
func truncLeft(s string, n int) string {
	if cellWidth(s) <= n {
		return s
	}
	r := []rune(s)
	w, i := 0, len(r)
	for i > 0 && w+runeWidth(r[i-1]) <= n-1 {
		i--
		w += runeWidth(r[i])
	}
	return "…" + string(r[i:])
}
