package exec_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/exec"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/sinktest"
)

// hook stores the secret it gets in ./out (atomically), or fails echoing
// the secret to stderr when ./fail exists.
const hook = `set -e
if [ -n "$VIA_ENV" ]; then v=$DELIVERED; else v=$(cat); fi
if [ -e fail ]; then echo "step 1 ok" >&2; echo "could not deliver $v" >&2; exit 3; fi
printf %s "$v" > out.tmp.$$
mv out.tmp.$$ out`

func TestConformance(t *testing.T) {
	for _, env := range []string{"", "DELIVERED"} {
		name := "stdin"
		if env != "" {
			name = "env"
		}
		t.Run(name, func(t *testing.T) {
			var dirs sync.Map // *exec.Sink → its working directory
			dirOf := func(s sink.Sink) string { d, _ := dirs.Load(s); return d.(string) }
			newSink := func(t *testing.T) sink.Sink {
				dir := t.TempDir()
				if env != "" {
					t.Setenv("VIA_ENV", "1")
				}
				s, err := exec.New(exec.Config{Command: []string{"sh", "-c", hook}, Env: env, Dir: dir})
				if err != nil {
					t.Fatal(err)
				}
				dirs.Store(s, dir)
				return s
			}
			sinktest.Run(t, newSink, sinktest.Options{
				Observe: func(t *testing.T, s sink.Sink) (secret.Secret, error) {
					b, err := os.ReadFile(filepath.Join(dirOf(s), "out"))
					return secret.New(string(b)), err
				},
				BreakNextPut: func(t *testing.T, s sink.Sink) func() {
					flag := filepath.Join(dirOf(s), "fail")
					if err := os.WriteFile(flag, nil, 0o600); err != nil {
						t.Fatal(err)
					}
					return func() { os.Remove(flag) }
				},
			})
		})
	}
}

func TestFailureReportsExitCodeAndScrubbedStderr(t *testing.T) {
	s, err := exec.New(exec.Config{Command: []string{"sh", "-c", `v=$(cat); for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; echo "bad token $v" >&2; exit 7`}})
	if err != nil {
		t.Fatal(err)
	}
	const tok = "glpat-SECRETSECRETSECRET1"
	_, err = s.Put(context.Background(), secret.New(tok))
	if err == nil {
		t.Fatal("Put succeeded although the command exited 7")
	}
	msg := err.Error()
	for _, want := range []string{"sink exec: ", "exit code 7", "line 7", "bad token [REDACTED]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, tok) {
		t.Errorf("error contains the secret: %q", msg)
	}
	if strings.Contains(msg, "line 1\n") || strings.Contains(msg, "line 3") {
		t.Errorf("error quotes more than the last lines of stderr: %q", msg)
	}
}

// TestStderrCutNeverSplitsTheSecret: when the quoted stderr is cut to its
// last bytes inside the secret, no piece of the secret may survive.
func TestStderrCutNeverSplitsTheSecret(t *testing.T) {
	const tok = "glpat-SECRETSECRETSECRET1"
	// The secret, then 1014 bytes on the same line: the 1024-byte cut lands
	// 10 bytes before the end of the secret.
	s, err := exec.New(exec.Config{Command: []string{"sh", "-c", `v=$(cat); printf 'token %s' "$v" >&2; i=0; while [ $i -lt 1014 ]; do printf x >&2; i=$((i+1)); done; exit 1`}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(context.Background(), secret.New(tok))
	if err == nil {
		t.Fatal("Put succeeded although the command exited 1")
	}
	if msg := err.Error(); strings.Contains(msg, tok[len(tok)-10:]) {
		t.Errorf("error quotes the end of the secret: %q", msg)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("TOKENWARDEN_KEY_FILE", "/etc/tokenwarden/key")
	t.Setenv("DELIVERED", "stale value from the parent")
	dir := t.TempDir()
	s, err := exec.New(exec.Config{
		Command: []string{"sh", "-c", `env | grep -E '^(TOKENWARDEN_|DELIVERED=)' | sort > env.txt; cat > stdin.txt`},
		Env:     "DELIVERED", Dir: dir,
		Meta: sink.Meta{TokenName: "deploy-registry-read", ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := sink.WithMeta(context.Background(), sink.Meta{ExpiresAt: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)})
	if changed, err := s.Put(ctx, secret.New("glpat-aaaaaaaaaaaaaaaaaaaa")); err != nil || !changed {
		t.Fatalf("Put = %v, %v", changed, err)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env.txt"))
	want := "DELIVERED=glpat-aaaaaaaaaaaaaaaaaaaa\nTOKENWARDEN_TOKEN_EXPIRES_AT=2027-03-01\nTOKENWARDEN_TOKEN_NAME=deploy-registry-read\n"
	if string(env) != want {
		t.Errorf("command environment:\n%s\nwant:\n%s", env, want)
	}
	if in, _ := os.ReadFile(filepath.Join(dir, "stdin.txt")); len(in) != 0 {
		t.Errorf("secret also on stdin (%d bytes) although Env is set", len(in))
	}
}

func TestStdinGetsSecretAndNewline(t *testing.T) {
	dir := t.TempDir()
	s, _ := exec.New(exec.Config{Command: []string{"sh", "-c", `cat > in.txt; echo "$@" > args.txt`, "hook"}, Dir: dir})
	if _, err := s.Put(context.Background(), secret.New("glpat-aaaaaaaaaaaaaaaaaaaa")); err != nil {
		t.Fatal(err)
	}
	if in, _ := os.ReadFile(filepath.Join(dir, "in.txt")); string(in) != "glpat-aaaaaaaaaaaaaaaaaaaa\n" {
		t.Errorf("stdin %q", in)
	}
	if args, _ := os.ReadFile(filepath.Join(dir, "args.txt")); strings.Contains(string(args), "glpat") {
		t.Errorf("secret in argv: %q", args)
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	s, _ := exec.New(exec.Config{Command: []string{"sh", "-c", `sleep 60 & echo $! > child; wait`}, Dir: dir, Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := s.Put(context.Background(), secret.New("glpat-aaaaaaaaaaaaaaaaaaaa"))
	if err == nil || !strings.Contains(err.Error(), "timeout") || sink.Hint(err) == "" {
		t.Fatalf("Put: %v, want a timeout error with a hint", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Put returned after %v; the timeout did not stop it", d)
	}
	b, err := os.ReadFile(filepath.Join(dir, "child"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive after the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNewValidatesAndMissingProgram(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  exec.Config
		want string
	}{
		{"no command", exec.Config{}, "no command"},
		{"bad env", exec.Config{Command: []string{"true"}, Env: "A-B"}, "not a valid environment variable"},
		{"reserved env", exec.Config{Command: []string{"true"}, Env: "TOKENWARDEN_TOKEN"}, "reserved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
		})
	}
	s, _ := exec.New(exec.Config{Command: []string{"/nonexistent/reload-app"}})
	_, err := s.Put(context.Background(), secret.New("glpat-aaaaaaaaaaaaaaaaaaaa"))
	if err == nil || sink.Hint(err) == "" || errors.Is(err, sink.ErrNotReadable) {
		t.Fatalf("Put of a missing program: %v (hint %q)", err, sink.Hint(err))
	}
}
