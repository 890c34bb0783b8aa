package policy

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

func TestEvaluateVariable(t *testing.T) {
	day := func(d int) *time.Time { x := time.Date(2026, 11, 25+d, 0, 0, 0, 0, time.UTC); return &x }
	platform := gitlab.Resource{Type: "group", Path: "platform"}
	app := gitlab.Resource{Type: "project", Path: "platform/app"}
	web := gitlab.Resource{Type: "project", Path: "data/web"}
	groupTok := &gitlab.Token{ID: 3, Name: "release-bot", Resource: platform, ExpiresAt: day(60)}
	appTok := &gitlab.Token{ID: 7, Name: "deploy", Resource: app, ExpiresAt: day(3)}
	userTok := &gitlab.Token{ID: 9, Name: "laptop", Resource: gitlab.Resource{Type: "user", Path: "alice"}}
	safe := VariableFacts{Masked: true, Protected: true, Places: 1}
	with := func(f VariableFacts, edit func(*VariableFacts)) VariableFacts { edit(&f); return f }
	tests := []struct {
		name string
		v    VariableFacts
		want string // code:severity;…
		msg  string // in the first finding's message
	}{
		{"healthy", with(safe, func(f *VariableFacts) { f.Resource, f.State, f.Token = app, gitlab.StateActive, groupTok }), "", ""},
		{"not identified, protected", with(safe, func(f *VariableFacts) { f.Resource = app }), "", ""},
		{"expired", with(safe, func(f *VariableFacts) {
			f.Resource, f.State = app, gitlab.StateExpired
			f.Token = &gitlab.Token{ID: 4, Name: "old", Resource: platform, ExpiresAt: day(-5)}
		}), "dead-token-in-variable:critical", "holds platform:old (id 4), expired on 2026-11-20"},
		{"revoked", with(safe, func(f *VariableFacts) { f.Resource, f.State, f.Token = app, gitlab.StateRevoked, groupTok }), "dead-token-in-variable:critical", "revoked"},
		{"another kind, expired", with(safe, func(f *VariableFacts) { f.Resource, f.State, f.What = app, gitlab.StateExpired, "a deploy token" }), "dead-token-in-variable:critical", "holds a deploy token that is expired"},
		{"unknown to GitLab", with(safe, func(f *VariableFacts) { f.Resource, f.State = app, StateUnknown }), "dead-token-in-variable:critical", "holds a token GitLab does not know"},
		{"expires within the critical threshold", with(safe, func(f *VariableFacts) { f.Resource, f.State, f.Token = app, gitlab.StateActive, appTok }), "expiring-token-in-variable:critical", "expires on 2026-11-28 (in 3 days)"},
		{"expires within the warning threshold", with(safe, func(f *VariableFacts) {
			f.Resource, f.State = app, gitlab.StateActive
			f.Token = &gitlab.Token{ID: 7, Name: "deploy", Resource: app, ExpiresAt: day(20)}
		}), "expiring-token-in-variable:warning", ""},
		{"unprotected", VariableFacts{Resource: app, Places: 1}, "token-in-unprotected-variable:warning", ""},
		{"masked only is not unprotected", VariableFacts{Resource: app, Masked: true, Places: 1}, "", ""},
		{"project token in another project", with(safe, func(f *VariableFacts) {
			f.Resource, f.State, f.Token = web, gitlab.StateActive, &gitlab.Token{ID: 7, Resource: app, Name: "deploy"}
		}), "foreign-token:warning", "of another project: access to platform/app"},
		{"project token in its group's variable", with(safe, func(f *VariableFacts) {
			f.Resource, f.State, f.Token = platform, gitlab.StateActive, &gitlab.Token{ID: 7, Resource: app}
		}), "foreign-token:warning", ""},
		{"group token below its group", with(safe, func(f *VariableFacts) { f.Resource, f.State, f.Token = app, gitlab.StateActive, groupTok }), "", ""},
		{"group token in another group", with(safe, func(f *VariableFacts) { f.Resource, f.State, f.Token = web, gitlab.StateActive, groupTok }), "foreign-token:warning", ""},
		{"a prefix of the group's path is not below it", with(safe, func(f *VariableFacts) {
			f.Resource, f.State, f.Token = gitlab.Resource{Type: "project", Path: "platform-2/app"}, gitlab.StateActive, groupTok
		}), "foreign-token:warning", ""},
		{"personal token is not judged foreign", with(safe, func(f *VariableFacts) { f.Resource, f.State, f.Token = web, gitlab.StateActive, userTok }), "", ""},
		{"in many places", with(safe, func(f *VariableFacts) { f.Resource, f.Places = app, 4 }), "token-in-many-places:info", "in 4 variables"},
		{"at the limit", with(safe, func(f *VariableFacts) { f.Resource, f.Places = app, 3 }), "", ""},
		{"everything, most severe first", VariableFacts{Resource: web, State: gitlab.StateRevoked, Token: &gitlab.Token{ID: 7, Resource: app}, Places: 5},
			"dead-token-in-variable:critical;token-in-unprotected-variable:warning;foreign-token:warning;token-in-many-places:info", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := EvaluateVariable(tt.v, now, DefaultThresholds(), DefaultManyPlaces)
			var got []string
			for _, f := range fs {
				got = append(got, f.Code+":"+f.Severity)
				if f.Fix == "" || f.Message == "" {
					t.Errorf("%s without message or fix", f.Code)
				}
			}
			if strings.Join(got, ";") != tt.want {
				t.Errorf("findings = %q, want %q", strings.Join(got, ";"), tt.want)
			}
			if tt.msg != "" && (len(fs) == 0 || !strings.Contains(fs[0].Message, tt.msg)) {
				t.Errorf("message %q does not say %q", fs, tt.msg)
			}
		})
	}
}
