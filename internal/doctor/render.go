package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// marks are the checklist symbols.
var marks = map[Status]string{StatusOK: "✓", StatusWarning: "!", StatusFailed: "✗", StatusSkipped: "–"}

// WriteText prints the checklist for people: one line per check, a fix
// under every problem, and a verdict.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Checking %s", r.Source)
	if r.Token != "" {
		fmt.Fprintf(&b, " (%s)", r.Token)
	}
	if r.URL != "" {
		fmt.Fprintf(&b, " against %s", r.URL)
	}
	b.WriteString("\n\n")
	for _, c := range r.Checks {
		detail := c.Detail
		if c.Status == StatusSkipped {
			detail = "skipped"
		}
		fmt.Fprintf(&b, "%s %-40s %s\n", marks[c.Status], c.Title, detail)
		if c.Fix != "" {
			fmt.Fprintf(&b, "  fix: %s\n", c.Fix)
		}
	}
	b.WriteString("\n")
	if f, failed := r.Failure(); failed {
		fmt.Fprintf(&b, "Not healthy: %s.\n", f.Title+" — "+f.Detail)
	} else if n := r.Warnings(); n > 0 {
		fmt.Fprintf(&b, "Healthy, with %d warning%s.\n", n, plural(n))
	} else {
		b.WriteString("Healthy.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the same content as JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
