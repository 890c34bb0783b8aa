package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestCredentialNeverPrintsToken: a credential shows its username, never
// its token, however it is printed.
func TestCredentialNeverPrintsToken(t *testing.T) {
	c := Credential{Username: "gitlab+deploy-token-7", Token: New(value)}
	var logs bytes.Buffer
	for _, handler := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(handler).Info("minted", "credential", c)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for how, out := range map[string]string{
		"%v": fmt.Sprintf("%v", c), "%s": fmt.Sprintf("%s", c), "%q": fmt.Sprintf("%q", c), "%x": fmt.Sprintf("%x", c),
		"%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c), "slog": logs.String(), "json": string(js), "yaml": string(ym),
	} {
		if strings.Contains(out, "abcdefghij") {
			t.Errorf("%s prints the token: %s", how, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s does not say %s: %s", how, Redacted, out)
		}
	}
}

func TestCredentialEqual(t *testing.T) {
	a := Credential{Username: "u1", Token: New("t1")}
	for _, tc := range []struct {
		b    Credential
		want bool
	}{
		{Credential{Username: "u1", Token: New("t1")}, true},
		{Credential{Username: "u2", Token: New("t1")}, false},
		{Credential{Username: "u1", Token: New("t2")}, false},
		{TokenOnly(New("t1")), false},
	} {
		if got := a.Equal(tc.b); got != tc.want {
			t.Errorf("Equal(%q) = %v, want %v", tc.b.Username, got, tc.want)
		}
	}
	if !TokenOnly(Secret{}).IsZero() || a.IsZero() {
		t.Error("IsZero is about the token")
	}
}
