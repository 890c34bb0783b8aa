package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The binary embeds the emulator but none of the test support: testing and
// httptest stay out of it (test helpers live in *test packages).
func TestBinaryLinksNoTestSupport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "testing" || strings.HasPrefix(p, "testing/") || p == "net/http/httptest" || strings.HasSuffix(p, "test") && strings.Contains(p, "tokenwarden/internal/") {
			t.Errorf("tokenwarden links %s", p)
		}
	}
}
