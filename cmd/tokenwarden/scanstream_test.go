package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// streamScan writes res through the format's scanWriter as scan does: the
// rows one by one, then Close with no rows.
func streamScan(t *testing.T, format string, w *chunks, res scanResult) {
	t.Helper()
	sw, err := newScanWriter(format, w, res.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range res.Rows {
		if err := sw.Row(row); err != nil {
			t.Fatal(err)
		}
	}
	res.Rows = nil
	if err := sw.Close(res); err != nil {
		t.Fatal(err)
	}
}

// chunks records each Write separately.
type chunks struct{ writes []string }

func (c *chunks) Write(p []byte) (int, error) {
	c.writes = append(c.writes, string(p))
	return len(p), nil
}
func (c *chunks) String() string { return strings.Join(c.writes, "") }

// The streamed JSON is the document json.Encoder would write for the whole
// result at once (same keys, same order, same indentation), with no tokens,
// one, or several and an error.
func TestScanJSONStreamIsOneDocument(t *testing.T) {
	full := reportsFixture()
	for _, n := range []int{0, 1, len(full.Rows)} {
		t.Run(fmt.Sprint(n, " tokens"), func(t *testing.T) {
			res := full
			res.Rows = full.Rows[:n]
			res.Summary = scanSummary{}
			for _, row := range res.Rows {
				res.Summary.add(row)
			}
			var out chunks
			streamScan(t, "json", &out, res)

			doc := struct {
				ScannedAt string      `json:"scanned_at"`
				Tokens    []jsonToken `json:"tokens"`
				Summary   scanSummary `json:"summary"`
				Errors    []jsonError `json:"errors"`
			}{ScannedAt: res.Now.UTC().Format(time.RFC3339), Tokens: []jsonToken{}, Summary: res.Summary, Errors: []jsonError{}}
			for _, row := range res.Rows {
				doc.Tokens = append(doc.Tokens, jsonTokenOf(row))
			}
			for _, e := range res.Errors {
				doc.Errors = append(doc.Errors, jsonError{ResourceType: e.Resource.Type, ResourcePath: e.Resource.Path, Error: e.Err.Error()})
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(doc); err != nil {
				t.Fatal(err)
			}
			if out.String() != want.String() {
				t.Errorf("streamed:\n%s\nwant:\n%s", out.String(), want.String())
			}
		})
	}
}

// manyRows is n healthy tokens of one project.
func manyRows(n int) scanResult {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	exp := now.AddDate(0, 2, 0)
	res := scanResult{Now: now}
	for i := range n {
		tok := gitlab.Token{ID: int64(i + 1), Name: fmt.Sprintf("deploy-%d", i), Description: "d", Scopes: []string{"read_api"},
			AccessLevel: 20, CreatedAt: now.AddDate(0, -1, 0), ExpiresAt: &exp,
			Resource: gitlab.Resource{Type: "project", ID: 9, Path: "platform/app"}}
		row := scanRow{Row: policy.Evaluated(tok, now, policy.DefaultThresholds())}
		res.Rows = append(res.Rows, row)
		res.Summary.add(row)
	}
	return res
}

// JSON and CSV go out in chunks while the rows come, each chunk whole
// rows (the redactor scrubs each write alone), not in one write at the end.
func TestScanJSONAndCSVStreamWholeRows(t *testing.T) {
	res := manyRows(2000)
	for _, tt := range []struct {
		format  string
		rowEnd  string // how a chunk that ends with a row ends
		lastEnd string
	}{
		{"json", "\n    }", "\n}\n"},
		{"csv", "\n", "\n"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			var out chunks
			streamScan(t, tt.format, &out, res)
			if len(out.writes) < len(out.String())/(2*rowChunk) {
				t.Fatalf("%d writes for %d bytes: the rows were not streamed", len(out.writes), len(out.String()))
			}
			for i, w := range out.writes {
				end := tt.rowEnd
				if i == len(out.writes)-1 {
					end = tt.lastEnd
				}
				if !strings.HasSuffix(w, end) || len(w) > 2*rowChunk {
					t.Fatalf("write %d (%d bytes) does not end a row: …%q", i, len(w), w[max(0, len(w)-40):])
				}
			}
			if tt.format == "json" {
				var doc struct{ Tokens []jsonToken }
				if err := json.Unmarshal([]byte(out.String()), &doc); err != nil || len(doc.Tokens) != len(res.Rows) {
					t.Errorf("%d tokens, err %v", len(doc.Tokens), err)
				}
			} else if n := strings.Count(out.String(), "\n"); n != len(res.Rows)+1 {
				t.Errorf("%d lines, want %d", n, len(res.Rows)+1)
			}
		})
	}
}

func TestScanProgressShowsRateAndTimeLeft(t *testing.T) {
	for _, tt := range []struct {
		done, total int
		elapsed     time.Duration
		want        string
	}{
		{0, 11000, 0, "scanning: 0/11000 groups and projects"},
		{50, 11000, 500 * time.Millisecond, "scanning: 50/11000 groups and projects"},
		{1000, 11000, 2 * time.Second, "scanning: 1000/11000 groups and projects · 500/s · about 20s left"},
		{5500, 11000, 45 * time.Second, "scanning: 5500/11000 groups and projects · 122/s · about 45s left"},
		{10000, 11000, 10 * time.Minute, "scanning: 10000/11000 groups and projects · 17/s · about 1m0s left"},
	} {
		if got := progressText(tt.done, tt.total, tt.elapsed); got != tt.want {
			t.Errorf("progressText(%d, %d, %s) = %q, want %q", tt.done, tt.total, tt.elapsed, got, tt.want)
		}
	}
}

// appendToken writes what json.MarshalIndent writes, for every shape of
// token: strings that need escaping (quotes, control characters, HTML,
// invalid UTF-8, U+2028), no scopes or several, no findings or several,
// missing dates, the self mark, a kind with a username and an unknown expiry.
func TestScanJSONTokenIsWhatEncodingJSONWrites(t *testing.T) {
	day, date, dl := "2026-11-25", "2026-11-25T12:00:00Z", -3
	tricky := []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x08\x0c\n\r\t\x1b\x7f", "<script>&amp;</script>",
		"bad \xff\xfe utf8", "line\u2028sep\u2029para", "部署令牌 ✓ 🚀", "tab\tend\\"}
	for i, s := range tricky {
		jt := jsonToken{ID: int64(i) + 1, Name: s, Description: s, ResourceType: "project", ResourceID: 9, ResourcePath: "a/" + s,
			Scopes: []string{}, AccessLevel: 20, AccessLevelName: "reporter", CreatedAt: date, State: "active", Findings: []jsonFinding{},
			Kind: "project_access_token"}
		if i%3 == 2 {
			jt.Kind, jt.Username, jt.ExpiryUnknown = "deploy_token", "gitlab+"+s, true
		}
		if i%2 == 1 {
			jt.Scopes = []string{"api", s}
			jt.ExpiresAt, jt.DaysLeft, jt.LastUsedAt = &day, &dl, &date
			jt.Findings = []jsonFinding{{Code: "expired", Severity: "critical", Message: s, Fix: "revoke " + s}, {Code: "c2", Severity: "info"}}
			jt.Self = true
			jt.Lives = []string{"project a/" + s + " variable X", "sink: " + s}
		}
		want, err := json.MarshalIndent(jt, "    ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := appendToken(nil, jt); string(got) != string(want) {
			t.Errorf("token %d:\n%s\nwant:\n%s", i, got, want)
		}
	}
}
