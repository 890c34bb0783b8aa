package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// The rotation marker tokenwarden puts into a minted token's description
// (so that a lost create response can be found again) says nothing about the
// token's use: a description that is only the marker is no description.
func TestNoDescriptionSeesThroughRotationMarker(t *testing.T) {
	tests := map[string]bool{
		"[tokenwarden rot-0123456789abcdef]":                      true,
		"  [tokenwarden rot-0123456789abcdef] ":                   true,
		"[tokenwarden rot-0123456789abcdef] [tokenwarden rot-aa]": true,
		"pulls images [tokenwarden rot-0123456789abcdef]":         false,
		"[tokenwarden rot-0123456789abcdef] pulls images":         false,
		"[tokenwarden] pulls images":                              false,
	}
	for desc, flagged := range tests {
		tok := good()
		tok.Description = desc
		got := false
		for _, f := range Evaluate(tok, now, DefaultThresholds()) {
			if f.Code == CodeNoDescription {
				got = true
			}
		}
		if got != flagged {
			t.Errorf("description %q: no-description = %v, want %v", desc, got, flagged)
		}
	}
}

func TestEvaluateConfigured(t *testing.T) {
	good := Configured{
		Name: "deploy-registry-read", Description: "pulls images for prod",
		Scopes: []string{"read_registry"}, AccessLevel: gitlab.AccessReporter, Lifetime: 90 * duration.Day,
		Resource: gitlab.Resource{Type: "group", Path: "acme"},
	}
	tests := []struct {
		name   string
		modify func(*Configured)
		th     func(*Thresholds)
		want   []string
	}{
		{"a well configured token has none", func(*Configured) {}, nil, nil},
		{"test, api, owner, no description", func(c *Configured) {
			c.Name, c.Scopes, c.AccessLevel, c.Description = "test", []string{"api"}, gitlab.AccessOwner, ""
		}, nil, []string{CodeOverPrivileged, CodeUndescriptiveName, CodeNoDescription}},
		{"lifetime over the default maximum", func(c *Configured) { c.Lifetime = 365 * duration.Day }, nil,
			[]string{CodeLongLived}},
		{"lifetime at the maximum is fine", func(c *Configured) { c.Lifetime = 180 * duration.Day }, nil, nil},
		{"lifetime over a configured maximum", func(c *Configured) { c.Lifetime = 60 * duration.Day },
			func(th *Thresholds) { th.MaxLifetime = 30 * duration.Day }, []string{CodeLongLived}},
		// What depends on GitLab's answers (use, expiry) cannot be known
		// from the configuration.
		{"never used and expiring is not a config matter", func(c *Configured) { c.Lifetime = 2 * duration.Day }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.modify(&c)
			th := DefaultThresholds()
			if tt.th != nil {
				tt.th(&th)
			}
			var got []string
			for _, f := range EvaluateConfigured(c, th) {
				if f.Message == "" || f.Fix == "" {
					t.Errorf("finding %s has an empty message or fix: %+v", f.Code, f)
				}
				got = append(got, f.Code)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings = %v, want %v", got, tt.want)
			}
		})
	}
}

// The findings speak about the configuration: what it asks for and what to
// change in it.
func TestEvaluateConfiguredMessages(t *testing.T) {
	c := Configured{Name: "test", Scopes: []string{"api"}, AccessLevel: gitlab.AccessOwner, Lifetime: 365 * duration.Day,
		Resource: gitlab.Resource{Type: "group", Path: "acme"}}
	fs := EvaluateConfigured(c, DefaultThresholds())
	byCode := map[string]Finding{}
	for _, f := range fs {
		byCode[f.Code] = f
	}
	checks := []struct{ code, field, want string }{
		{CodeOverPrivileged, "message", "scope api and owner access"},
		{CodeOverPrivileged, "message", "group acme and all below it"},
		{CodeOverPrivileged, "fix", "read_api"},
		{CodeLongLived, "message", "lifetime 365d is over the policy maximum 180d"},
		{CodeLongLived, "fix", "lifetime: 180d"},
		{CodeUndescriptiveName, "message", `"test"`},
		{CodeNoDescription, "fix", "description:"},
	}
	for _, c := range checks {
		f, ok := byCode[c.code]
		if !ok {
			t.Errorf("no %s finding in %v", c.code, fs)
			continue
		}
		got := f.Message
		if c.field == "fix" {
			got = f.Fix
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %s = %q, want it to contain %q", c.code, c.field, got, c.want)
		}
	}
	for _, f := range fs {
		if strings.Contains(f.Message, "created") || strings.Contains(f.Message, time.Now().Format("2006")) {
			t.Errorf("%s: message speaks of a token that exists: %q", f.Code, f.Message)
		}
	}
}
