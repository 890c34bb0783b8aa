package notify

import (
	"fmt"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// Summary is the event in one readable line: the Slack message, the mail
// subject and the webhook payload's "text".
func (e Event) Summary() string {
	ref := e.Ref()
	noun := e.Token.noun()
	switch e.Kind {
	case KindExpiring:
		s := fmt.Sprintf("%s %s expires", noun, ref)
		if e.Token.ExpiresAt != nil {
			s += " on " + day(*e.Token.ExpiresAt)
			if left := e.Token.ExpiresAt.Sub(e.At); left > 0 {
				s += " (in " + roughly(left) + ")"
			}
		} else if e.Threshold > 0 {
			s += " within " + duration.Format(e.Threshold)
		}
		return s
	case KindExpired:
		s := fmt.Sprintf("%s %s has expired", noun, ref)
		if e.Token.ExpiresAt != nil {
			s += " (on " + day(*e.Token.ExpiresAt) + ")"
		}
		return s
	case KindRotated:
		s := fmt.Sprintf("Token %s was rotated", ref)
		if e.Token.ExpiresAt != nil {
			s += "; the new token expires on " + day(*e.Token.ExpiresAt)
		}
		return s
	case KindRotationFailed:
		s := fmt.Sprintf("Rotation of token %s failed", ref)
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		return s
	case KindNewFinding:
		if f := e.Finding; f != nil {
			s := fmt.Sprintf("New finding %s (%s) on unmanaged token %s", f.Code, f.Severity, ref)
			if f.Message != "" {
				s += ": " + f.Message
			}
			return s
		}
		return "New finding on unmanaged token " + ref
	}
	return fmt.Sprintf("%s: %s", e.Kind, ref)
}

// Body is the event as a few "label: value" lines for mail.
func (e Event) Body() string {
	var b strings.Builder
	b.WriteString(e.Summary())
	b.WriteString(".\n\n")
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-13s %s\n", k+":", v)
		}
	}
	line("Event", string(e.Kind))
	line("Token", e.Ref())
	line("Kind", e.Token.Kind)
	if e.Token.ID != 0 {
		line("Token id", fmt.Sprint(e.Token.ID))
	}
	line("Scopes", strings.Join(e.Token.Scopes, ", "))
	if e.Token.ExpiresAt != nil {
		line("Expires", e.Token.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if e.Token.LastUsedAt != nil {
		line("Last used", e.Token.LastUsedAt.UTC().Format(time.RFC3339))
	}
	if e.Threshold > 0 {
		line("Threshold", duration.Format(e.Threshold))
	}
	if f := e.Finding; f != nil {
		line("Finding", f.Code+" ("+f.Severity+")")
		line("Message", f.Message)
		line("Fix", f.Fix)
	}
	line("Rotation", e.RotationID)
	if e.Kind != KindRotationFailed {
		line("Detail", e.Detail)
	}
	line("At", e.At.UTC().Format(time.RFC3339))
	b.WriteString("\n-- \ntokenwarden\n")
	return b.String()
}

// noun names the token in a summary: "Token" for an access token,
// "Deploy token", "Trigger token", "Runner token" or "Service account
// token" for the kinds whose secret is not an access token's.
func (t Token) noun() string {
	switch t.Kind {
	case gitlab.KindDeployToken:
		return "Deploy token"
	case gitlab.KindTriggerToken:
		return "Trigger token"
	case gitlab.KindRunnerToken:
		return "Runner token"
	case gitlab.KindServiceAccountToken:
		return "Service account token"
	}
	return "Token"
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// roughly renders a remaining time in whole days, or hours under two days.
func roughly(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= time.Hour:
		return "1 hour"
	}
	return "less than an hour"
}
