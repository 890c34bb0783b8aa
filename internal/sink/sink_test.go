package sink_test

import (
	"errors"
	"fmt"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// main prints the hint of any error through problem.Hint: a sink's
// refusal, wrapped on its way up, must carry its hint there.
func TestErrorHintReachesMain(t *testing.T) {
	err := fmt.Errorf("deliver to 2 sinks: %w", &sink.Error{Kind: "file", Err: errors.New("directory /x does not exist"), Hint: "create the directory"})
	if got := problem.Hint(err); got != "create the directory" {
		t.Errorf("problem.Hint = %q, want the sink's hint", got)
	}
}

// Holds compares the token, and the username only when both sides have one:
// a sink that delivers no username reads back none, and a username written
// next to a token that has none (kubernetes_secret's oauth2) is not the
// token's.
func TestHolds(t *testing.T) {
	tok := secret.New("gldt-aaaaaaaaaaaaaaaaaaaa")
	deploy := secret.Credential{Username: "gitlab+deploy-token-2", Token: tok}
	for _, c := range []struct {
		name      string
		got, want secret.Credential
		holds     bool
	}{
		{"same token and username", deploy, deploy, true},
		{"sink without a username", secret.TokenOnly(tok), deploy, true},
		{"default username next to an access token", secret.Credential{Username: "oauth2", Token: tok}, secret.TokenOnly(tok), true},
		{"another username", secret.Credential{Username: "gitlab+deploy-token-1", Token: tok}, deploy, false},
		{"another token", secret.Credential{Username: deploy.Username, Token: secret.New("gldt-bbbbbbbbbbbbbbbbbbbb")}, deploy, false},
	} {
		if got := sink.Holds(c.got, c.want); got != c.holds {
			t.Errorf("%s: Holds = %v, want %v", c.name, got, c.holds)
		}
	}
}
