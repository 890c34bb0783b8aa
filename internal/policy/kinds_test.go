package policy

import (
	"reflect"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// TestEvaluateKinds: the findings that make sense per kind (issue 12).
func TestEvaluateKinds(t *testing.T) {
	deploy := func() gitlab.Token {
		tok := good()
		tok.Kind, tok.Username, tok.Description, tok.LastUsedAt, tok.UsageUnknown = gitlab.KindDeployToken, "gitlab+deploy-token-1", "", nil, true
		tok.AccessLevel = 0
		return tok
	}
	tests := []struct {
		name   string
		tok    func() gitlab.Token
		modify func(*gitlab.Token)
		want   []string
	}{
		{"a deploy token: no usage data, no description, no finding", deploy, func(*gitlab.Token) {}, nil},
		{"a deploy token without expiry: no-expiry, not long-lived", deploy, func(t *gitlab.Token) { t.ExpiresAt = nil }, []string{CodeNoExpiry}},
		{"a deploy token that can push", deploy, func(t *gitlab.Token) { t.Scopes = []string{"read_registry", "write_registry"} }, []string{CodeOverPrivileged}},
		{"a trigger token without expiry", good, func(t *gitlab.Token) {
			t.Kind, t.ExpiresAt, t.Scopes, t.AccessLevel, t.Description = gitlab.KindTriggerToken, nil, nil, 0, ""
		}, []string{CodeNoExpiry}},
		{"a trigger token never used", good, func(t *gitlab.Token) {
			t.Kind, t.LastUsedAt, t.Scopes, t.AccessLevel = gitlab.KindTriggerToken, nil, nil, 0
		}, []string{CodeNeverUsed}},
		{"a runner token: its expiry is unknown, not never", good, func(t *gitlab.Token) {
			t.Kind, t.ExpiresAt, t.ExpiryUnknown, t.UsageUnknown, t.Scopes, t.AccessLevel = gitlab.KindRunnerToken, nil, true, true, nil, 0
		}, nil},
		{"an access token without expiry stays long-lived", good, func(t *gitlab.Token) { t.ExpiresAt = nil }, []string{CodeLongLived}},
	}
	for _, tc := range tests {
		tok := tc.tok()
		tc.modify(&tok)
		var got []string
		for _, f := range Evaluate(tok, now, DefaultThresholds()) {
			got = append(got, f.Code)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: findings %v, want %v", tc.name, got, tc.want)
		}
	}
}
