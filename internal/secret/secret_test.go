package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const value = "glpat-abcdefghij0123456789"

// TestSecretNeverPrints covers every way a value usually leaves a program.
func TestSecretNeverPrints(t *testing.T) {
	s := New(value)
	type holder struct {
		Name  string
		Token Secret
	}
	h := holder{"deploy", s}
	var logs bytes.Buffer
	for _, handler := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(handler).Info("minted", "token", s, "holder", h)
	}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(map[string]Secret{"token": s})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s),
		"%x": fmt.Sprintf("%x", s), "%#v": fmt.Sprintf("%#v", s), "%+v struct": fmt.Sprintf("%+v", h),
		"%#v struct": fmt.Sprintf("%#v", h), "String": s.String(), "error": fmt.Errorf("use %v: %w", s, errors.New("x")).Error(),
		"slog": logs.String(), "json": string(js), "yaml": string(ym),
	}
	for how, out := range outputs {
		if strings.Contains(out, "abcdefghij") {
			t.Errorf("%s prints the secret: %s", how, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s does not say %s: %s", how, Redacted, out)
		}
	}
	if s.Reveal() != value {
		t.Fatal("Reveal lost the value")
	}
}

func TestHint(t *testing.T) {
	for in, want := range map[string]string{
		"glpat-abcdefghij0123456789": "glpat-…6789",
		"gldt-abcdefghijkl":          "gldt-…ijkl",
		"glpat-short":                "glpat-…",
		"plainvalue123456":           "…3456",
	} {
		if got := New(in).Hint(); got != want {
			t.Errorf("Hint(%q) = %q, want %q", in, got, want)
		}
	}
}
