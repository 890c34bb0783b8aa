package notify_test

import (
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
)

// An expiry notice for a deploy, trigger, runner or service account token
// says which kind of credential it is: its secret is not an access
// token's, and whoever renews it must know where to look.
func TestExpiryNoticeNamesTheKind(t *testing.T) {
	for kind, want := range map[string]string{
		"":                      "Token group/platform/infra:deploy expires on",
		"group_access_token":    "Token group/platform/infra:deploy expires on",
		"deploy_token":          "Deploy token group/platform/infra:deploy expires on",
		"trigger_token":         "Trigger token group/platform/infra:deploy expires on",
		"runner_token":          "Runner token group/platform/infra:deploy expires on",
		"service_account_token": "Service account token group/platform/infra:deploy expires on",
	} {
		e := expiringEvent(7 * day)
		e.TokenRef = ""
		e.Token.Kind = kind
		if got := e.Summary(); !strings.HasPrefix(got, want) {
			t.Errorf("kind %q: summary %q, want it to start %q", kind, got, want)
		}
		if body := e.Body(); kind != "" && !strings.Contains(body, "Kind:         "+kind+"\n") {
			t.Errorf("kind %q: body lacks the kind:\n%s", kind, body)
		}
		e.Kind = notify.KindExpired
		if got := e.Summary(); !strings.HasPrefix(got, strings.Replace(want, "expires on", "has expired", 1)) {
			t.Errorf("kind %q: expired summary %q", kind, got)
		}
	}
}
