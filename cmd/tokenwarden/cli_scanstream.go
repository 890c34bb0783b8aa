package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// scanWriter receives scan's rows as the scan lists them, then the rest of
// the result. JSON and CSV write each row as it comes, so that scan holds a
// window of rows, not the instance; the other formats sort and need them all.
type scanWriter interface {
	Row(scanRow) error
	// Close writes what follows the rows; r.Rows is empty (the rows came
	// through Row). Nothing is written when Close is not called and no row
	// came: a scan that failed as a whole leaves no output.
	Close(r scanResult) error
}

func newScanWriter(format string, w io.Writer, now time.Time) (scanWriter, error) {
	switch format {
	case "table", "":
		return &bufferedScan{w: w, render: writeScanTable}, nil
	case "json":
		return &jsonScan{out: rowWriter{w: w}, now: now}, nil
	case "csv":
		sw := &csvScan{out: rowWriter{w: w}}
		sw.cw = csv.NewWriter(&sw.out.buf)
		return sw, nil
	case "junit":
		return &bufferedScan{w: w, render: writeScanJUnit}, nil
	case "codequality":
		return &bufferedScan{w: w, render: writeScanCodeQuality}, nil
	}
	return nil, usageError("--format must be table, json, csv, junit or codequality, not %q", format)
}

// bufferedScan collects the rows and renders them, most urgent first.
type bufferedScan struct {
	w      io.Writer
	render func(io.Writer, scanResult) error
	rows   []scanRow
}

func (b *bufferedScan) Row(row scanRow) error { b.rows = append(b.rows, row); return nil }

func (b *bufferedScan) Close(r scanResult) error {
	sortRows(b.rows)
	r.Rows = b.rows
	return b.render(b.w, r)
}

// rowWriter buffers whole rows and passes them on in chunks of about
// 32 KiB: few writes, and never a row cut in two (the redactor that scrubs
// stdout sees each write alone).
type rowWriter struct {
	w   io.Writer
	buf bytes.Buffer
}

const rowChunk = 32 << 10

// rowDone ends a row: the buffer goes out when it is full enough.
func (o *rowWriter) rowDone() error {
	if o.buf.Len() < rowChunk {
		return nil
	}
	return o.flush()
}

func (o *rowWriter) flush() error {
	_, err := o.w.Write(o.buf.Bytes())
	o.buf.Reset()
	return err
}

// jsonScan writes {"scanned_at", "tokens": [...], "summary", "errors"}
// indented as json.Encoder would, one token at a time.
type jsonScan struct {
	out     rowWriter
	now     time.Time
	begun   bool
	scratch []byte
}

func (j *jsonScan) begin() {
	j.begun = true
	j.out.buf.WriteString("{\n  \"scanned_at\": \"" + j.now.UTC().Format(time.RFC3339) + "\",\n  \"tokens\": [")
}

func (j *jsonScan) Row(row scanRow) error {
	sep := ","
	if !j.begun {
		j.begin()
		sep = ""
	}
	j.out.buf.WriteString(sep + "\n    ")
	j.scratch = appendToken(j.scratch[:0], jsonTokenOf(row))
	j.out.buf.Write(j.scratch)
	return j.out.rowDone()
}

func (j *jsonScan) Close(r scanResult) error {
	if !j.begun {
		j.begin()
		j.out.buf.WriteString("],\n")
	} else {
		j.out.buf.WriteString("\n  ],\n")
	}
	errs := []jsonError{}
	for _, e := range r.Errors {
		errs = append(errs, jsonError{ResourceType: e.Resource.Type, ResourcePath: e.Resource.Path, Error: e.Err.Error()})
	}
	type part struct {
		key  string
		v    any
		tail string
	}
	parts := []part{{"summary", r.Summary, ",\n"}, {"errors", errs, "\n}\n"}}
	if r.Variables != nil {
		parts = append([]part{{"variables", jsonVariables(r), ",\n"}}, parts...)
	}
	for _, part := range parts {
		b, err := json.MarshalIndent(part.v, "  ", "  ")
		if err != nil {
			return err
		}
		j.out.buf.WriteString("  \"" + part.key + "\": ")
		j.out.buf.Write(b)
		j.out.buf.WriteString(part.tail)
	}
	return j.out.flush()
}

func jsonTokenOf(row scanRow) jsonToken {
	t := row.Token
	jt := jsonToken{
		ID: t.ID, Kind: t.TokenKind(), Name: t.Name, Username: t.Username, Description: t.Description, ExpiryUnknown: t.ExpiryUnknown,
		ResourceType: t.Resource.Type, ResourceID: t.Resource.ID, ResourcePath: t.Resource.Path,
		Scopes: t.Scopes, AccessLevel: t.AccessLevel, AccessLevelName: gitlab.AccessLevelName(t.AccessLevel),
		CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339), DaysLeft: row.DaysLeft, State: row.State,
		Findings: row.Findings, Self: row.Self, Lives: row.Lives,
	}
	if jt.Scopes == nil {
		jt.Scopes = []string{}
	}
	if t.CreatedAt.IsZero() {
		jt.CreatedAt = "" // deploy tokens: GitLab does not say
	}
	if jt.Findings == nil {
		jt.Findings = []jsonFinding{}
	}
	if t.ExpiresAt != nil {
		s := t.ExpiresAt.UTC().Format(dateOnly)
		jt.ExpiresAt = &s
	}
	if t.LastUsedAt != nil {
		s := t.LastUsedAt.UTC().Format(time.RFC3339)
		jt.LastUsedAt = &s
	}
	return jt
}

// csvScan writes a header and one line per token.
type csvScan struct {
	out   rowWriter
	cw    *csv.Writer // into out.buf
	begun bool
}

func (c *csvScan) begin() error {
	c.begun = true
	return c.cw.Write([]string{"id", "name", "description", "resource_type", "resource_path", "scopes", "access_level",
		"access_level_name", "created_at", "expires_at", "days_left", "last_used_at", "state", "severity", "findings", "kind", "username"})
}

func (c *csvScan) Row(row scanRow) error {
	if !c.begun {
		if err := c.begin(); err != nil {
			return err
		}
	}
	t := row.Token
	dl := ""
	if row.DaysLeft != nil {
		dl = strconv.Itoa(*row.DaysLeft)
	}
	if err := c.cw.Write([]string{
		strconv.FormatInt(t.ID, 10), csvSafe(t.Name), csvSafe(t.Description), t.Resource.Type, t.Resource.Path,
		strings.Join(t.Scopes, " "), strconv.Itoa(t.AccessLevel), gitlab.AccessLevelName(t.AccessLevel),
		t.CreatedAt.UTC().Format(time.RFC3339), dateOrEmpty(t.ExpiresAt, dateOnly), dl,
		dateOrEmpty(t.LastUsedAt, time.RFC3339), row.State, row.Worst, findingCodes(row.Findings),
		t.TokenKind(), csvSafe(t.Username),
	}); err != nil {
		return err
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.out.rowDone()
}

func (c *csvScan) Close(scanResult) error {
	if !c.begun {
		if err := c.begin(); err != nil {
			return err
		}
		c.cw.Flush()
	}
	return c.out.flush()
}

// appendToken appends jt as json.MarshalIndent(jt, "    ", "  ") would,
// without reflection and a second pass to indent: at 100,000 tokens that
// was a fifth of scan's CPU.
func appendToken(b []byte, jt jsonToken) []byte {
	const in1, in2, in3 = "\n      ", "\n        ", "\n          "
	str := func(key, v string) {
		b = append(b, in1+`"`+key+`": `...)
		b = appendJSONString(b, v)
		b = append(b, ',')
	}
	num := func(key string, v int64) {
		b = append(b, in1+`"`+key+`": `...)
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ',')
	}
	b = append(b, '{')
	num("id", jt.ID)
	str("kind", jt.Kind)
	str("name", jt.Name)
	if jt.Username != "" {
		str("username", jt.Username)
	}
	str("description", jt.Description)
	str("resource_type", jt.ResourceType)
	num("resource_id", jt.ResourceID)
	str("resource_path", jt.ResourcePath)
	b = append(b, in1+`"scopes": [`...)
	for i, s := range jt.Scopes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, in2...)
		b = appendJSONString(b, s)
	}
	if len(jt.Scopes) > 0 {
		b = append(b, in1...)
	}
	b = append(b, "],"...)
	num("access_level", int64(jt.AccessLevel))
	str("access_level_name", jt.AccessLevelName)
	str("created_at", jt.CreatedAt)
	if jt.ExpiresAt == nil {
		b = append(b, in1+`"expires_at": null,`...)
	} else {
		str("expires_at", *jt.ExpiresAt)
	}
	if jt.DaysLeft == nil {
		b = append(b, in1+`"days_left": null,`...)
	} else {
		num("days_left", int64(*jt.DaysLeft))
	}
	if jt.LastUsedAt == nil {
		b = append(b, in1+`"last_used_at": null,`...)
	} else {
		str("last_used_at", *jt.LastUsedAt)
	}
	if jt.ExpiryUnknown {
		b = append(b, in1+`"expiry_unknown": true,`...)
	}
	str("state", jt.State)
	b = append(b, in1+`"findings": [`...)
	for i, f := range jt.Findings {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, in2+"{"...)
		for j, kv := range [4][2]string{{"code", f.Code}, {"severity", f.Severity}, {"message", f.Message}, {"fix", f.Fix}} {
			b = append(b, in3+`"`+kv[0]+`": `...)
			b = appendJSONString(b, kv[1])
			if j < 3 {
				b = append(b, ',')
			}
		}
		b = append(b, in2+"}"...)
	}
	if len(jt.Findings) > 0 {
		b = append(b, in1...)
	}
	b = append(b, ']')
	if jt.Self {
		b = append(b, ","+in1+`"self": true`...)
	}
	if len(jt.Lives) > 0 {
		b = append(b, ","+in1+`"lives": [`...)
		for i, l := range jt.Lives {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, in2...)
			b = appendJSONString(b, l)
		}
		b = append(b, in1+"]"...)
	}
	return append(b, "\n    }"...)
}

// appendJSONString appends s quoted as encoding/json quotes it (HTML
// characters escaped, invalid UTF-8 replaced, U+2028 and U+2029 escaped).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
