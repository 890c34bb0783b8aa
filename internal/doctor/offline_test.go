package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

const goodToken = "glpat-AbCdEfGhIjKlMnOpQrSt"

func envInput(v string, set bool) Input {
	return Input{Token: secret.New(v), Origin: Origin{Kind: "env", Name: "DEPLOY_TOKEN", Found: set}, URL: "http://127.0.0.1:1"}
}

func fileInput(v string) Input {
	return Input{Token: secret.New(v), Origin: Origin{Kind: "file", Name: "tok.txt", Found: true}, URL: "http://127.0.0.1:1"}
}

// runOffline runs the chain against an address where nothing listens, so
// every check before "instance" decides on its own.
func runOffline(t *testing.T, in Input) Report {
	t.Helper()
	return Run(context.Background(), in, Config{})
}

func TestOfflineChecks(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		failsAt    string
		detail     string // substring of the failing check's detail
		fix        string // substring of its fix
		notInFixes string
	}{
		{"unset variable", envInput("", false), "present", "DEPLOY_TOKEN is not set", "export DEPLOY_TOKEN=", ""},
		{"empty variable", envInput("", true), "present", "DEPLOY_TOKEN is set but empty", "put the token into DEPLOY_TOKEN", "protected"},
		{"unset in CI hints at protected and scoped variables", func() Input { in := envInput("", false); in.InCI = true; return in }(), "present", "not set", "protected variable reaches only pipelines on protected branches", ""},
		{"missing file", Input{Origin: Origin{Kind: "file", Name: "/nope/token", Err: fs.ErrNotExist}}, "present", "file /nope/token does not exist", "", ""},
		{"unreadable file", Input{Origin: Origin{Kind: "file", Name: "/root/token", Found: true, Err: fs.ErrPermission}}, "present", "permission denied", "", ""},
		{"empty stdin", Input{Origin: Origin{Kind: "stdin", Found: true}}, "present", "nothing arrived on stdin", "printf %s", ""},
		{"trailing newline", envInput(goodToken+"\n", true), "clean", "DEPLOY_TOKEN ends with a newline", "remove the trailing newline", ""},
		{"windows line ending", envInput(goodToken+"\r\n", true), "clean", "ends with a Windows line ending", "", ""},
		{"leading space", envInput(" "+goodToken, true), "clean", "starts with a space", "the leading spaces", ""},
		{"double quotes", envInput(`"`+goodToken+`"`, true), "clean", "is wrapped in double quotes", "remove the double quotes", ""},
		{"single quotes", envInput(`'`+goodToken+`'`, true), "clean", "is wrapped in single quotes", "", ""},
		{"bearer prefix", envInput("Bearer "+goodToken, true), "clean", `starts with "Bearer "`, `the "Bearer " prefix`, ""},
		{"header pasted", envInput("PRIVATE-TOKEN: "+goodToken, true), "clean", `starts with "PRIVATE-TOKEN: "`, "", ""},
		{"two problems named together", envInput(`"Bearer `+goodToken+"\"\n", true), "clean", `ends with a newline, is wrapped in double quotes and starts with "Bearer "`, "", ""},
		{"two tokens", envInput(goodToken+" "+goodToken, true), "clean", "contains a space inside", "", ""},
		{"two newlines in a file", fileInput(goodToken + "\n\n"), "clean", "file tok.txt ends with 2 line breaks", "tr -d '[:space:]' < tok.txt", ""},
		{"windows line ending in a file", fileInput(goodToken + "\r\n"), "clean", "file tok.txt ends with a Windows line ending", "", ""},
		{"newline and quotes in a file", fileInput(`"` + goodToken + "\"\n"), "clean", "file tok.txt ends with a newline and is wrapped in double quotes", "", ""},
		{"newline inside a file", fileInput(goodToken + "\n" + goodToken + "\n"), "clean", "contains a newline inside", "", ""},
		{"leading space in a file", fileInput(" " + goodToken + "\n"), "clean", "file tok.txt starts with a space", "", ""},
		{"deploy token", envInput("gldt-AbCdEfGhIjKlMnOpQrSt", true), "shape", "deploy token", "not for the REST API", ""},
		{"runner token", envInput("glrt-AbCdEfGhIjKlMnOpQrSt", true), "shape", "runner authentication token", "", ""},
		{"trigger token", envInput("glptt-AbCdEfGhIjKlMnOpQrSt", true), "shape", "pipeline trigger token", "", ""},
		{"job token", envInput("glcbt-AbCdEfGhIjKlMnOpQrSt", true), "shape", "CI/CD job token", "", ""},
		{"oauth secret", envInput("gloas-AbCdEfGhIjKlMnOpQrSt", true), "shape", "OAuth application secret", "", ""},
		{"feed token", envInput("glft-AbCdEfGhIjKlMnOpQrSt", true), "shape", "feed token", "", ""},
		{"incoming mail token", envInput("glimt-AbCdEfGhIjKlMnOpQrSt", true), "shape", "incoming mail token", "", ""},
		{"agent token", envInput("glagent-AbCdEfGhIjKlMnOpQrSt", true), "shape", "agent for Kubernetes", "", ""},
		{"scim token", envInput("glsoat-AbCdEfGhIjKlMnOpQrSt", true), "shape", "SCIM token", "", ""},
		{"unknown gitlab prefix", envInput("glxyz-AbCdEfGhIjKlMnOpQrSt", true), "shape", "starts with glxyz-, a GitLab token of a kind", "", ""},
		// A value that merely starts with "gl": nothing of it is echoed.
		{"secret starting with gl", envInput("glAb3x9-QrSt0123456789", true), "shape", "does not look like a GitLab token", "", ""},
		{"github token", envInput("ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", true), "shape", "does not look like a GitLab token", "", ""},
		{"cut off", envInput("glpat-AbCdEf", true), "shape", "only 6 characters follow the prefix", "cut off", ""},
		{"smart ellipsis", envInput("glpat-AbCdEfGhIj…KlMnOpQrSt", true), "shape", "a character no GitLab token has, at position 17", "", ""},
		{"nothing listens", envInput(goodToken, true), "instance", "cannot reach http://127.0.0.1:1: connection refused", "check the host and port", ""},
		{"no URL", func() Input { in := envInput(goodToken, true); in.URL = ""; return in }(), "instance", "no GitLab URL given", "GITLAB_URL", ""},
		{"bad host", func() Input { in := envInput(goodToken, true); in.URL = "https://gitlab.invalid"; return in }(), "instance", "cannot be resolved (DNS)", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runOffline(t, tt.in)
			if rep.Healthy {
				t.Fatalf("healthy, want a failure at %s: %+v", tt.failsAt, rep.Checks)
			}
			got, _ := rep.Failure()
			if got.Name != tt.failsAt {
				t.Fatalf("failed at %s (%s), want %s", got.Name, got.Detail, tt.failsAt)
			}
			if !got.Blocking || got.OK || got.Fix == "" {
				t.Errorf("failure %+v: want blocking, not OK, with a fix", got)
			}
			if !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", got.Detail, tt.detail)
			}
			if !strings.Contains(got.Fix, tt.fix) {
				t.Errorf("fix %q does not contain %q", got.Fix, tt.fix)
			}
			if tt.notInFixes != "" && strings.Contains(got.Fix, tt.notInFixes) {
				t.Errorf("fix %q should not mention %q", got.Fix, tt.notInFixes)
			}
			after := false
			for _, c := range rep.Checks {
				if after && c.Status != StatusSkipped {
					t.Errorf("check %s after the failure ran: %+v", c.Name, c)
				}
				if c.Name == tt.failsAt {
					after = true
				} else if !after && c.Status != StatusOK {
					t.Errorf("check %s before the failure is %s: %s", c.Name, c.Status, c.Detail)
				}
			}
			assertNoSecret(t, rep, tt.in.Token.Reveal())
		})
	}
}

// renderings are rep's text and JSON reports.
func renderings(t *testing.T, rep Report) []string {
	t.Helper()
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	return []string{text.String(), js.String()}
}

// assertNoSecret renders rep both ways and looks for the token's body.
func assertNoSecret(t *testing.T, rep Report, token string) {
	t.Helper()
	body := strings.TrimSpace(token)
	if i := strings.Index(body, "-"); i >= 0 {
		body = body[i+1:]
	}
	body = strings.Trim(body, "\"' \n")
	if len(body) < 8 {
		return
	}
	for _, out := range renderings(t, rep) {
		if strings.Contains(out, body[:8]) {
			t.Errorf("output shows the token:\n%s", out)
		}
	}
}

// One trailing newline in a file is what editors and `echo > file` leave,
// and what `$(cat file)` strips: a warning that names who keeps it, not a
// blocking problem. The checks after it see the token without it. The same
// newline in a variable or on stdin stays a problem (see TestOfflineChecks).
func TestFileTrailingNewlineIsAWarning(t *testing.T) {
	rep := runOffline(t, fileInput(goodToken+"\n"))
	got := find(t, rep, "clean")
	if got.Status != StatusWarning || got.Blocking || !strings.Contains(got.Detail, "file tok.txt ends with a newline") {
		t.Fatalf("clean check = %+v, want a warning that names the newline", got)
	}
	for _, want := range []string{"$(cat tok.txt)", "HTTP header"} {
		if !strings.Contains(got.Fix, want) {
			t.Errorf("fix %q does not mention %q", got.Fix, want)
		}
	}
	if shape := find(t, rep, "shape"); shape.Status != StatusOK {
		t.Errorf("shape check = %+v: want ok, on the token without its newline", shape)
	}
	if f, _ := rep.Failure(); f.Name != "instance" {
		t.Errorf("failed at %q, want the instance check (nothing listens)", f.Name)
	}
	assertNoSecret(t, rep, goodToken)

	for _, in := range []Input{envInput(goodToken+"\n", true), {Token: secret.New(goodToken + "\n"), Origin: Origin{Kind: "stdin", Found: true}}} {
		if got := find(t, runOffline(t, in), "clean"); got.Status != StatusFailed {
			t.Errorf("%s: clean check = %+v, want failed", in.Origin.Label(), got)
		}
	}
}

func TestInstanceAnswersWithoutGitLab(t *testing.T) {
	tests := []struct {
		name   string
		status int
		detail string
	}{
		{"a web server without the API", http.StatusNotFound, "there is no GitLab API at"},
		{"a failing proxy", http.StatusBadGateway, "answers with an error: 502 Bad Gateway"},
		{"a redirect", http.StatusMovedPermanently, "redirects the API to https://gitlab.example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == http.StatusMovedPermanently {
					w.Header().Set("Location", "https://gitlab.example.com/")
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			in := envInput(goodToken, true)
			in.URL = srv.URL + "/api/v4/" // pasted with the API suffix: still the instance root
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			rep := Run(context.Background(), in, Config{HTTPClient: client})
			got := find(t, rep, "instance")
			if got.Status != StatusFailed || !strings.Contains(got.Detail, tt.detail) {
				t.Fatalf("instance check = %s %q, want failed with %q", got.Status, got.Detail, tt.detail)
			}
			if rep.URL != srv.URL {
				t.Errorf("URL %q, want the instance root %q", rep.URL, srv.URL)
			}
		})
	}
}

func TestReportJSONHasTheChecklist(t *testing.T) {
	rep := runOffline(t, envInput(goodToken+"\n", true))
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Source  string `json:"source"`
		Token   string `json:"token"`
		Healthy bool   `json:"healthy"`
		Checks  []struct {
			Name, Status, Detail, Fix string
			OK, Blocking              bool
		} `json:"checks"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if got.Healthy || got.Source != "DEPLOY_TOKEN" || got.Token != "glpat-…QrSt" || len(got.Checks) != 7 {
		t.Fatalf("report %+v", got)
	}
	want := []string{"ok", "failed", "skipped", "skipped", "skipped", "skipped", "skipped"}
	for i, c := range got.Checks {
		if c.Status != want[i] {
			t.Errorf("check %d (%s) status %s, want %s", i, c.Name, c.Status, want[i])
		}
	}
	if !got.Checks[1].Blocking || got.Checks[1].Fix == "" {
		t.Errorf("clean check %+v: want blocking with a fix", got.Checks[1])
	}
}

func TestParseNeeds(t *testing.T) {
	tests := []struct {
		in       string
		scopes   []string
		smallest []string
		err      string
	}{
		{"read_api", []string{"read_api"}, []string{"read_api"}, ""},
		{"clone,push", []string{"read_repository", "write_repository"}, []string{"write_repository"}, ""},
		{"push-image", []string{"write_registry", "read_registry"}, []string{"read_registry", "write_registry"}, ""},
		{"api-read, clone", []string{"read_api", "read_repository"}, []string{"read_api"}, ""},
		{"read_api,write_repository", []string{"read_api", "write_repository"}, []string{"read_api", "write_repository"}, ""},
		{"api,read_api", []string{"api", "read_api"}, []string{"api"}, ""},
		{"teleport", nil, nil, `unknown scope or operation "teleport"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			needs, err := ParseNeeds(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var scopes []string
			for _, n := range needs {
				scopes = append(scopes, n.Scope)
			}
			if strings.Join(scopes, ",") != strings.Join(tt.scopes, ",") {
				t.Errorf("scopes %v, want %v", scopes, tt.scopes)
			}
			if got := smallestScopes(needs); strings.Join(got, ",") != strings.Join(tt.smallest, ",") {
				t.Errorf("smallest %v, want %v", got, tt.smallest)
			}
		})
	}
}

func TestClassifyKeepsTransportErrors(t *testing.T) {
	a := classify(errors.New("dial tcp: connection refused"))
	if a.transport == nil || a.status != 0 {
		t.Fatalf("classify = %+v", a)
	}
}
