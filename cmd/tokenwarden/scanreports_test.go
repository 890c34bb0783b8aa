package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/inventory"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// reportsFixture: an expired token (critical), an over-privileged one
// (warning) with a control character in its name, a healthy one and a
// resource that could not be scanned.
func reportsFixture() scanResult {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	past, future := now.AddDate(0, 0, -5), now.AddDate(0, 2, 0)
	used := now.AddDate(0, 0, -1)
	created := now.AddDate(0, -1, 0)
	grp := gitlab.Resource{Type: "group", ID: 7, Path: "platform"}
	prj := gitlab.Resource{Type: "project", ID: 9, Path: "platform/app"}
	rep := &inventory.Report{Groups: 1, Projects: 1, Tokens: []gitlab.Token{
		{ID: 1, Name: "expired-deploy", Description: "deploys docs", Scopes: []string{"read_api"}, AccessLevel: 20,
			CreatedAt: created, ExpiresAt: &past, LastUsedAt: &used, Resource: grp},
		{ID: 2, Name: "ci\x1badmin <&>", Description: "manages runners", Scopes: []string{"api"}, AccessLevel: 50,
			CreatedAt: created, ExpiresAt: &future, LastUsedAt: &used, Resource: grp},
		{ID: 3, Name: "registry-read", Description: "pulls images", Scopes: []string{"read_registry"}, AccessLevel: 20,
			CreatedAt: created, ExpiresAt: &future, LastUsedAt: &used, Resource: prj},
	}, Errors: []inventory.ResourceError{{Resource: gitlab.Resource{Type: "project", Path: "platform/secret"}, Err: errors.New("403 Forbidden")}}}
	return evaluateScan(rep, now, policy.DefaultThresholds())
}

// TestScanJUnitReport checks the JUnit XML against the rules GitLab's test
// report reads it by: testsuites > testsuite > testcase with name and
// classname, a <failure> per failed case, counts that add up.
func TestScanJUnitReport(t *testing.T) {
	res := reportsFixture()
	var out bytes.Buffer
	if err := writeScanJUnit(&out, res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "<?xml") {
		t.Errorf("no XML declaration:\n%s", out.String())
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name      string `xml:"name,attr"`
			Tests     int    `xml:"tests,attr"`
			Failures  int    `xml:"failures,attr"`
			Errors    int    `xml:"errors,attr"`
			SystemErr string `xml:"system-err"`
			Cases     []struct {
				Name      string `xml:"name,attr"`
				ClassName string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, out.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("want one testsuite, got %d", len(doc.Suites))
	}
	s := doc.Suites[0]
	findings, clean := 0, 0
	for _, row := range res.Rows {
		findings += len(row.Findings)
		if len(row.Findings) == 0 {
			clean++
		}
	}
	if findings == 0 || clean == 0 {
		t.Fatalf("fixture needs tokens with and without findings")
	}
	failed := 0
	names := map[string]bool{}
	for _, c := range s.Cases {
		if c.Name == "" || c.ClassName == "" {
			t.Errorf("test case without name or classname: %+v", c)
		}
		if names[c.ClassName+"\x00"+c.Name] {
			t.Errorf("two test cases named %q in %q", c.Name, c.ClassName)
		}
		names[c.ClassName+"\x00"+c.Name] = true
		if strings.ContainsRune(c.Name, '\x1b') {
			t.Errorf("control character in test case name %q", c.Name)
		}
		if c.Failure != nil {
			failed++
			if c.Failure.Message == "" || c.Failure.Type == "" || c.Failure.Text == "" {
				t.Errorf("failure without message, type or text: %+v", c.Failure)
			}
		}
	}
	if failed != findings || len(s.Cases) != findings+clean {
		t.Errorf("%d cases, %d failed; want %d failed (one per finding) and %d passed (one per clean token)", len(s.Cases), failed, findings, clean)
	}
	if s.Tests != len(s.Cases) || s.Failures != failed || doc.Tests != s.Tests || doc.Failures != s.Failures {
		t.Errorf("counts do not add up: suites %d/%d, suite %d/%d, cases %d/%d", doc.Tests, doc.Failures, s.Tests, s.Failures, len(s.Cases), failed)
	}
	if s.Errors != 1 || !strings.Contains(s.SystemErr, "platform/secret") {
		t.Errorf("the resource that could not be scanned is not reported: errors=%d system-err=%q", s.Errors, s.SystemErr)
	}
	if !strings.Contains(out.String(), `name="expired-deploy (id 1): expired"`) {
		t.Errorf("no failed case for the expired token:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `name="registry-read (id 3)"`) {
		t.Errorf("no passed case for the healthy token:\n%s", out.String())
	}
}

// TestScanCodeQualityReport checks each issue against GitLab's Code Quality
// field rules: description, check_name, fingerprint (unique), severity in
// info|minor|major|critical|blocker, location.path and location.lines.begin.
func TestScanCodeQualityReport(t *testing.T) {
	res := reportsFixture()
	var out bytes.Buffer
	if err := writeScanCodeQuality(&out, res); err != nil {
		t.Fatal(err)
	}
	var issues []map[string]any
	if err := json.Unmarshal(out.Bytes(), &issues); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out.String())
	}
	want := 0
	for _, row := range res.Rows {
		want += len(row.Findings)
	}
	if len(issues) != want || want == 0 {
		t.Fatalf("%d issues, want %d (one per finding)", len(issues), want)
	}
	str := func(m map[string]any, k string) string {
		s, _ := m[k].(string)
		return s
	}
	seen := map[string]bool{}
	sev := map[string]int{}
	for _, is := range issues {
		for _, k := range []string{"description", "check_name", "fingerprint", "severity"} {
			if str(is, k) == "" {
				t.Errorf("issue without %s: %v", k, is)
			}
		}
		switch s := str(is, "severity"); s {
		case "info", "minor", "major", "critical", "blocker":
			sev[s]++
		default:
			t.Errorf("severity %q is not one of info|minor|major|critical|blocker", s)
		}
		fp := str(is, "fingerprint")
		if seen[fp] {
			t.Errorf("fingerprint %s used twice", fp)
		}
		seen[fp] = true
		loc, _ := is["location"].(map[string]any)
		lines, _ := loc["lines"].(map[string]any)
		if p, _ := loc["path"].(string); p == "" {
			t.Errorf("issue without location.path: %v", is)
		}
		if b, _ := lines["begin"].(float64); b < 1 {
			t.Errorf("issue without location.lines.begin ≥ 1: %v", is)
		}
	}
	if sev["critical"] == 0 || sev["major"] == 0 {
		t.Errorf("want the expired token critical and the over-privileged one major, got %v", sev)
	}
	// A fingerprint stays the same from one pipeline to the next.
	var again bytes.Buffer
	if err := writeScanCodeQuality(&again, reportsFixture()); err != nil || again.String() != out.String() {
		t.Errorf("the report changed between two runs on the same tokens (err %v)", err)
	}
	// An empty scan is an empty array, not null.
	var empty bytes.Buffer
	if err := writeScanCodeQuality(&empty, scanResult{}); err != nil || strings.TrimSpace(empty.String()) != "[]" {
		t.Errorf("empty report = %q, %v; want []", empty.String(), err)
	}
}

// TestScanTableFitsWithWideCharacters: names and paths in CJK script take two
// columns per character; the table must still fit in 120 columns.
func TestScanTableFitsWithWideCharacters(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	res := scanResult{Now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Rows: []scanRow{{Row: policy.Row{
		Token: gitlab.Token{ID: 1, Name: "部署令牌部署令牌部署令牌", Scopes: []string{"read_api"}, AccessLevel: 20, ExpiresAt: &exp,
			Resource: gitlab.Resource{Type: "project", Path: "平台/基础设施/应用程序/部署服务"}},
		State: gitlab.StateActive,
	}}}}
	var out bytes.Buffer
	if err := writeScanTable(&out, res); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if w := cellWidth(line); w > 120 {
			t.Errorf("line is %d columns wide: %q", w, line)
		}
	}
	if !strings.Contains(out.String(), "部署令牌") || !strings.Contains(out.String(), "…") {
		t.Errorf("want the name shortened with …:\n%s", out.String())
	}
	// Columns line up: STATE starts at the same column in header and row.
	lines := strings.Split(out.String(), "\n")
	head, row := lines[0], lines[1]
	if hc, rc := cellWidth(head[:strings.Index(head, "STATE")]), cellWidth(row[:strings.Index(row, "active")]); hc != rc {
		t.Errorf("STATE at column %d in the header, %d in the row:\n%s", hc, rc, out.String())
	}
}
