package main

import (
	"sort"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// scanRow is one token with what scan says about it.
type scanRow struct {
	policy.Row
	// Self: this is the token the command authenticates with.
	Self bool
	// Lives is where the token is kept (scan --variables): the CI/CD
	// variables found holding it, and the sinks tokenwarden delivers it to.
	Lives []string
}

// selfNote is how the table marks the token tokenwarden runs with.
const selfNote = "    ← the token tokenwarden runs with"

// scanSummary counts what a scan found.
type scanSummary struct {
	Tokens   int `json:"tokens"`
	Active   int `json:"active"`
	Expired  int `json:"expired"`
	Revoked  int `json:"revoked"`
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
	Groups   int `json:"groups"`
	Projects int `json:"projects"`
	Errors   int `json:"errors"`
	// With --variables: the variables read, and those holding a GitLab
	// token or hidden.
	Variables      int `json:"variables,omitempty"`
	VariableTokens int `json:"variable_tokens,omitempty"`
}

// scanResult is a scan evaluated at a point in time.
type scanResult struct {
	Now  time.Time
	Rows []scanRow // most urgent first
	// Variables are the CI/CD variables holding tokens (scan --variables),
	// most urgent first; nil without --variables.
	Variables []varRow
	Summary   scanSummary
	Errors    []inventory.ResourceError
}

func evaluateScan(rep *inventory.Report, now time.Time, th policy.Thresholds) scanResult {
	res := scanResult{Now: now, Errors: rep.Errors}
	for _, t := range rep.Tokens {
		row := scanRow{Row: policy.Evaluated(t, now, th)}
		res.Rows = append(res.Rows, row)
		res.Summary.add(row)
	}
	res.Summary.resources(rep)
	sortRows(res.Rows)
	return res
}

// add counts one row.
func (s *scanSummary) add(row scanRow) {
	s.Tokens++
	switch row.State {
	case gitlab.StateActive:
		s.Active++
	case gitlab.StateExpired:
		s.Expired++
	case gitlab.StateRevoked:
		s.Revoked++
	}
	s.findings(row.Findings)
}

// findings counts findings by severity.
func (s *scanSummary) findings(fs []policy.Finding) {
	for _, f := range fs {
		switch f.Severity {
		case policy.SeverityCritical:
			s.Critical++
		case policy.SeverityWarning:
			s.Warning++
		case policy.SeverityInfo:
			s.Info++
		}
	}
}

// resources counts what the scan walked.
func (s *scanSummary) resources(rep *inventory.Report) {
	s.Groups, s.Projects, s.Errors = rep.Groups, rep.Projects, len(rep.Errors)
}

// atOrAbove counts the findings at or above severity.
func (s scanSummary) atOrAbove(severity string) int {
	n := 0
	for sev, count := range map[string]int{policy.SeverityCritical: s.Critical, policy.SeverityWarning: s.Warning, policy.SeverityInfo: s.Info} {
		if policy.Rank(sev) >= policy.Rank(severity) {
			n += count
		}
	}
	return n
}

// sortRows puts the most urgent rows first.
func sortRows(rows []scanRow) {
	sort.SliceStable(rows, func(i, j int) bool { return moreUrgent(rows[i], rows[j]) })
}

// moreUrgent orders rows: worst severity first, then fewest days left
// (tokens that never expire after those that do), revoked tokens last.
func moreUrgent(a, b scanRow) bool {
	if ra, rb := a.State == gitlab.StateRevoked, b.State == gitlab.StateRevoked; ra != rb {
		return rb
	}
	if sa, sb := policy.Rank(a.Worst), policy.Rank(b.Worst); sa != sb {
		return sa > sb
	}
	switch {
	case a.DaysLeft != nil && b.DaysLeft == nil:
		return true
	case a.DaysLeft == nil && b.DaysLeft != nil:
		return false
	case a.DaysLeft != nil && *a.DaysLeft != *b.DaysLeft:
		return *a.DaysLeft < *b.DaysLeft
	}
	if a.Token.Resource.Path != b.Token.Resource.Path {
		return a.Token.Resource.Path < b.Token.Resource.Path
	}
	return a.Token.ID < b.Token.ID
}

func findingCodes(fs []policy.Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Code + ":" + f.Severity
	}
	return strings.Join(parts, ";")
}
