package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

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
