package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/testenv"
)

// The systemd unit in deploy/systemd is valid for systemd (verify, with the
// binary built from this tree at its ExecStart) and hardened: systemd's own
// exposure score stays at 2.0 or below ("OK").
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "systemd-analyze is not installed (apt-get install systemd)")
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
		testenv.Missing(t, "the test needs buildah, as root (apt-get install buildah)")
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
	// A run whose output is not tokenwarden's — nothing at all, or only
	// buildah's own complaint — never reached tokenwarden (buildah failed to
	// set the container up, seen on a loaded machine): that says nothing
	// about the image, so it is tried again, at most twice. tokenwarden's
	// output starts with "tokenwarden demo" or ends with its "error: " line.
	reached := func(out []byte) bool {
		return bytes.HasPrefix(out, []byte("tokenwarden demo")) || bytes.Contains(append([]byte("\n"), out...), []byte("\nerror: "))
	}
	var out []byte
	for try := 0; try < 3 && (try == 0 || !reached(out)); try++ {
		cmd := exec.Command(buildah, "run", "--isolation", "chroot", "--env", "TMPDIR=/", ctr, "--", "/usr/local/bin/tokenwarden", "demo")
		out, err = cmd.CombinedOutput()
	}
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Errorf("the image's user could write to / (%v):\n%s", err, out)
	}
}

// TestReadOnlyRoot: what the image (and the Helm chart) assume — a read-only
// root file system with one writable directory for the state. apply and
// serve run in a mount namespace of their own where every file system is
// remounted read-only but the state directory, with HOME read-only and
// TMPDIR unset (so /tmp, read-only too): they create the journal and its key,
// rotate and deliver into that directory, answer /readyz, and write nothing
// anywhere else (they would fail with "read-only file system").
func TestReadOnlyRoot(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		testenv.Missing(t, "the test needs unshare (util-linux), as root")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "tokenwarden")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s, url := simtest.Start(t, sim.Options{RootToken: simRootToken})
	g, err := s.CreateGroup("acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "tokenwarden.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`gitlab: {url: %s, token_env: GITLAB_TOKEN}
state: sqlite://%s/tokenwarden.db
serve: {password_env: TOKENWARDEN_PASSWORD}
tokens:
  - name: release-bot
    description: tags releases
    group: %s
    scopes: [read_repository]
    access_level: developer
    lifetime: 90d
    deliver:
      - file: {path: %s/release.env, format: dotenv, key: RELEASE_TOKEN}
`, url, data, g.FullPath, data)), 0o444); err != nil {
		t.Fatal(err)
	}
	// Every mount read-only except data (a bind mount of its own), then the
	// command. /proc, /sys and /dev are left as the runtime has them.
	const script = `set -e
mount --bind "$TW_DATA" "$TW_DATA"
findmnt -rn -o TARGET | sort -u | while read -r m; do
	case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"$TW_DATA") continue;; esac
	mount -o remount,bind,ro "$m" 2>/dev/null || [ "$m" != / ]
done
if touch /tw-probe 2>/dev/null || touch "$TW_ROOT/probe" 2>/dev/null; then echo "the root is writable" >&2; exit 99; fi
exec "$@"`
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(unshare, append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh", bin}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "TW_DATA=" + data, "TW_ROOT=" + root,
			"GITLAB_TOKEN=" + simRootToken, "TOKENWARDEN_PASSWORD=operator-Password-5Ks"}
		cmd.Dir = root
		return cmd
	}
	before := listDir(t, root)

	out, err := command("apply", "-c", cfg, "--yes").CombinedOutput()
	if err != nil {
		t.Fatalf("apply on a read-only root: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(data, "release.env")); err != nil || !strings.HasPrefix(string(b), "RELEASE_TOKEN=glpat-") {
		t.Errorf("apply delivered %q (%v)", b, err)
	}

	var log simtest.Buffer
	serve := command("serve", "-c", cfg, "--listen", "127.0.0.1:0")
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v\n%s", err, log.String())
			}
		case <-time.After(time.Minute):
			_ = serve.Process.Kill()
			t.Errorf("serve did not stop within a minute of SIGTERM")
		}
		after := listDir(t, root)
		if !slices.Equal(before, after) {
			t.Errorf("files outside the state directory changed:\nbefore %v\nafter  %v", before, after)
		}
		for _, f := range []string{"tokenwarden.db", "tokenwarden.key", "release.env"} {
			if _, err := os.Stat(filepath.Join(data, f)); err != nil {
				t.Errorf("state directory: %v", err)
			}
		}
	}()
	base := waitForDashboard(t, done, &log)
	waitFor(t, "/readyz 200", done, &log, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// listDir lists the files under dir, but data/ and the binary.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "data" {
			return filepath.SkipDir
		}
		if rel != "tokenwarden" {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
