package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// JUnit XML, as GitLab's unit test report reads it
// (artifacts:reports:junit): one test case per finding, failed, and one
// passed test case per token without findings.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
	// SystemErr lists the resources that could not be scanned.
	SystemErr string `xml:"system-err,omitempty"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitFailure `xml:"failure"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// tokenCaseName names a token's test cases: its name and id (two tokens
// of a resource may share a name).
func tokenCaseName(row scanRow) string {
	return fmt.Sprintf("%s (id %d)", printable(row.Token.Name), row.Token.ID)
}

func tokenClassName(row scanRow) string {
	return row.Token.Resource.Type + " " + row.Token.Resource.Path
}

func writeScanJUnit(w io.Writer, r scanResult) error {
	suite := junitSuite{Name: "tokenwarden scan", Timestamp: r.Now.UTC().Format(time.RFC3339), Cases: []junitCase{}}
	for _, row := range r.Rows {
		if len(row.Findings) == 0 {
			suite.Cases = append(suite.Cases, junitCase{ClassName: tokenClassName(row), Name: tokenCaseName(row)})
			continue
		}
		for _, f := range row.Findings {
			text := f.Message
			if f.Fix != "" {
				text += "\nfix: " + f.Fix
			}
			suite.Cases = append(suite.Cases, junitCase{
				ClassName: tokenClassName(row),
				Name:      tokenCaseName(row) + ": " + f.Code,
				Failure:   &junitFailure{Message: f.Severity + ": " + printable(f.Message), Type: f.Code, Text: text},
			})
			suite.Failures++
		}
	}
	for _, v := range r.Variables {
		for _, f := range v.Findings {
			text := f.Message
			if f.Fix != "" {
				text += "\nfix: " + f.Fix
			}
			suite.Cases = append(suite.Cases, junitCase{
				ClassName: v.Resource.Type + " " + v.Resource.Path,
				Name:      printable(variableCaseName(v)) + ": " + f.Code,
				Failure:   &junitFailure{Message: f.Severity + ": " + printable(f.Message), Type: f.Code, Text: text},
			})
			suite.Failures++
		}
	}
	suite.Tests = len(suite.Cases)
	if len(r.Errors) > 0 {
		var b strings.Builder
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "%s %s could not be scanned: %v\n", e.Resource.Type, e.Resource.Path, e.Err)
		}
		suite.SystemErr = b.String()
		suite.Errors = len(r.Errors)
	}
	doc := junitSuites{Name: "tokenwarden", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Code Quality JSON, as GitLab's merge-request widget reads it
// (artifacts:reports:codequality): an array of issues, each with
// description, check_name, fingerprint, severity and location.path with
// location.lines.begin. A token is not in a file: location.path is the
// token's group or project path and the line is 1.

type cqIssue struct {
	Type        string     `json:"type"`
	Description string     `json:"description"`
	CheckName   string     `json:"check_name"`
	Fingerprint string     `json:"fingerprint"`
	Severity    string     `json:"severity"`
	Categories  []string   `json:"categories"`
	Location    cqLocation `json:"location"`
}

type cqLocation struct {
	Path  string  `json:"path"`
	Lines cqLines `json:"lines"`
}

type cqLines struct {
	Begin int `json:"begin"`
}

// cqSeverity maps a finding's severity onto Code Quality's
// info|minor|major|critical|blocker.
func cqSeverity(s string) string {
	switch s {
	case policy.SeverityCritical:
		return "critical"
	case policy.SeverityWarning:
		return "major"
	}
	return "info"
}

func writeScanCodeQuality(w io.Writer, r scanResult) error {
	issues := []cqIssue{}
	for _, row := range r.Rows {
		t := row.Token
		for _, f := range row.Findings {
			// The fingerprint identifies the finding across pipelines, so
			// that GitLab can tell new findings from fixed ones.
			sum := sha256.Sum256([]byte(strings.Join([]string{t.Resource.Type, strconv.FormatInt(t.Resource.ID, 10),
				strconv.FormatInt(t.ID, 10), f.Code}, "\x00")))
			issues = append(issues, cqIssue{
				Type:        "issue",
				Description: fmt.Sprintf("%s token %q (id %d): %s", t.Resource.Type, printable(t.Name), t.ID, printable(f.Message)),
				CheckName:   "tokenwarden/" + f.Code,
				Fingerprint: hex.EncodeToString(sum[:16]),
				Severity:    cqSeverity(f.Severity),
				Categories:  []string{"Security"},
				Location:    cqLocation{Path: t.Resource.Path, Lines: cqLines{Begin: 1}},
			})
		}
	}
	for _, v := range r.Variables {
		for _, f := range v.Findings {
			// Not the digest: the finding stays the same one until fixed,
			// whatever secret the variable holds meanwhile.
			sum := sha256.Sum256([]byte(strings.Join([]string{v.Resource.Type, strconv.FormatInt(v.Resource.ID, 10),
				"variable", v.Key, v.Scope, f.Code}, "\x00")))
			issues = append(issues, cqIssue{
				Type:        "issue",
				Description: fmt.Sprintf("%s %s: %s", v.Resource.Type, printable(variableCaseName(v)), printable(f.Message)),
				CheckName:   "tokenwarden/" + f.Code,
				Fingerprint: hex.EncodeToString(sum[:16]),
				Severity:    cqSeverity(f.Severity),
				Categories:  []string{"Security"},
				Location:    cqLocation{Path: v.Resource.Path, Lines: cqLines{Begin: 1}},
			})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(issues)
}

// variableCaseName names a variable's findings in the reports: "variable
// KEY (scope production)".
func variableCaseName(v varRow) string {
	s := "variable " + v.Key
	if v.Scope != "" && v.Scope != "*" {
		s += " (scope " + v.Scope + ")"
	}
	return s
}
