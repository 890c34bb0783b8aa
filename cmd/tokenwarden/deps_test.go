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

// The kubernetes_secret sink reaches the API server through client-go's
// dynamic client: a typed client's scheme would link every API group's
// types (about 18 MB more in the binary).
func TestBinaryLinksOneKubernetesAPIGroup(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "k8s.io/api/") && p != "k8s.io/api/core/v1" || strings.HasPrefix(p, "k8s.io/client-go/kubernetes") {
			t.Errorf("tokenwarden links %s", p)
		}
	}
}
