package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The systemd unit in deploy/systemd is valid for systemd (verify, with the
// binary built from this tree at its ExecStart) and hardened: systemd's own
// exposure score stays at 2.0 or below ("OK").
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing (.ci/run installs systemd)")
		}
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "tokenwarden.service"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tokenwarden")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	text := strings.Replace(string(unit), "ExecStart=/usr/local/bin/tokenwarden ", "ExecStart="+bin+" ", 1)
	if text == string(unit) {
		t.Fatal("ExecStart does not start /usr/local/bin/tokenwarden")
	}
	path := filepath.Join(dir, "tokenwarden.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure over 2.0 (%v)\n%s", err, out)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=tokenwarden", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %q", strings.TrimSpace(want))
		}
	}
}

// The Dockerfile builds with Debian's buildah from the binary its own
// documented `go build` line makes, and the image runs as a non-root user on
// an empty base: the static binary starts, /data is writable, / is not.
func TestContainerImage(t *testing.T) {
	buildah, err := exec.LookPath("buildah")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("buildah (as root) is needed: .ci/run installs it")
		}
		t.Skip("needs buildah, as root")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// The build line the Dockerfile documents, with bin/ in a context of
	// the test's own.
	var buildLine string
	for _, l := range strings.Split(string(dockerfile), "\n") {
		if l = strings.TrimSpace(strings.TrimPrefix(l, "#")); strings.HasPrefix(l, "CGO_ENABLED=0 go build ") {
			buildLine = l
		}
	}
	if buildLine == "" || !strings.Contains(buildLine, "-o bin/tokenwarden") {
		t.Fatalf("the Dockerfile documents no `CGO_ENABLED=0 go build … -o bin/tokenwarden` line")
	}
	ctx := t.TempDir()
	buildLine = strings.Replace(buildLine, "-o bin/tokenwarden", "-o "+filepath.Join(ctx, "bin", "tokenwarden"), 1)
	run := func(dir, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(root, "sh", "-c", buildLine)
	run(root, "cp", "-r", "Dockerfile", "deploy", ctx)
	run(root, "cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(ctx, "bin"))
	tag := "localhost/tokenwarden-test:" + strings.ToLower(filepath.Base(ctx))
	run(ctx, buildah, "bud", "--isolation", "chroot", "-q", "-t", tag, ".")
	t.Cleanup(func() { exec.Command(buildah, "rmi", "-f", tag).Run() })

	cfg := run(ctx, buildah, "inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.WorkingDir}} {{.OCIv1.Config.Volumes}}", tag)
	if want := "65532:65532 [/usr/local/bin/tokenwarden] /data map[/data:{}]"; strings.TrimSpace(cfg) != want {
		t.Errorf("image config %q, want %q", strings.TrimSpace(cfg), want)
	}
	ctr := strings.TrimSpace(run(ctx, buildah, "from", "-q", tag))
	t.Cleanup(func() { exec.Command(buildah, "rm", ctr).Run() })
	if out := run(ctx, buildah, "run", "--isolation", "chroot", ctr, "--", "/usr/local/bin/tokenwarden", "version"); !strings.Contains(out, "tokenwarden ") {
		t.Errorf("version in the image: %q", out)
	}
	// The demo writes its directory in $TMPDIR: /data works, / does not.
	run(ctx, buildah, "run", "--isolation", "chroot", ctr, "--", "/usr/local/bin/tokenwarden", "demo")
	cmd := exec.Command(buildah, "run", "--isolation", "chroot", "--env", "TMPDIR=/", ctr, "--", "/usr/local/bin/tokenwarden", "demo")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "permission denied") {
		t.Errorf("the image's user could write to / (%v):\n%s", err, out)
	}
}
