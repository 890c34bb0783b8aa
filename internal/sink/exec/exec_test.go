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

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/exec"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/sinktest"
)

// hook stores the username it gets in $DEPLOY_USER (if any) and the secret
// in ./out, one line each (atomically), or fails echoing the secret to
// stderr when ./fail exists.
const hook = `set -e
if [ -n "$VIA_ENV" ]; then v=$DELIVERED; else v=$(cat); fi
if [ -e fail ]; then echo "step 1 ok" >&2; echo "could not deliver $v" >&2; exit 3; fi
printf '%s\n%s' "${DEPLOY_USER-}" "$v" > out.tmp.$$
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
			newSinkWith := func(t *testing.T, usernameEnv string) sink.Sink {
				dir := t.TempDir()
				if env != "" {
					t.Setenv("VIA_ENV", "1")
				}
				s, err := exec.New(exec.Config{Command: []string{"sh", "-c", hook}, Env: env, UsernameEnv: usernameEnv, EnvPass: []string{"VIA_ENV"}, Dir: dir})
				if err != nil {
					t.Fatal(err)
				}
				dirs.Store(s, dir)
				return s
			}
			sinktest.Run(t, func(t *testing.T) sink.Sink { return newSinkWith(t, "") }, sinktest.Options{
				NewTwoValue: func(t *testing.T) sink.Sink { return newSinkWith(t, "DEPLOY_USER") },
				Observe: func(t *testing.T, s sink.Sink) (secret.Credential, error) {
					b, err := os.ReadFile(filepath.Join(dirOf(s), "out"))
					user, tok, _ := strings.Cut(string(b), "\n")
					return secret.Credential{Username: user, Token: secret.New(tok)}, err
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
	_, err = s.Put(context.Background(), secret.TokenOnly(secret.New(tok)))
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
	_, err = s.Put(context.Background(), secret.TokenOnly(secret.New(tok)))
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
	if changed, err := s.Put(ctx, secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa"))); err != nil || !changed {
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

// TestStdinGetsExactlyTheSecret: the hook reads the secret's bytes, with no
// newline added (a consumer that stores stdin as-is must get the token, not
// the token and a line break).
func TestStdinGetsExactlyTheSecret(t *testing.T) {
	dir := t.TempDir()
	s, _ := exec.New(exec.Config{Command: []string{"sh", "-c", `cat > in.txt; echo "$@" > args.txt`, "hook"}, Dir: dir})
	if _, err := s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa"))); err != nil {
		t.Fatal(err)
	}
	if in, _ := os.ReadFile(filepath.Join(dir, "in.txt")); string(in) != "glpat-aaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("stdin %q, want exactly the secret", in)
	}
	if args, _ := os.ReadFile(filepath.Join(dir, "args.txt")); strings.Contains(string(args), "glpat") {
		t.Errorf("secret in argv: %q", args)
	}
}

// hostileEnv is what a daemon's environment typically holds besides the
// variables a hook needs.
var hostileEnv = map[string]string{
	"GITLAB_TOKEN":          "glpat-managing-admin-token-01",
	"PGPASSWORD":            "pg-password-0123456789",
	"SMTP_PASSWORD":         "smtp-password-0123456789",
	"HOOK_SECRET":           "webhook-signing-0123456789",
	"TOKENWARDEN_PASSWORD":  "dashboard-password-0123",
	"AWS_SECRET_ACCESS_KEY": "aws-secret-0123456789",
}

// TestHookEnvironmentIsMinimal: a hook sees PATH, HOME, LANG, TZ, what
// env_pass names, the token's metadata and its own secret, and nothing else
// of tokenwarden's environment (which holds the managing token and other
// secrets).
func TestHookEnvironmentIsMinimal(t *testing.T) {
	for k, v := range hostileEnv {
		t.Setenv(k, v)
	}
	t.Setenv("HOME", "/home/tw")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("TZ", "Europe/Berlin")
	t.Setenv("APP_ENV", "production")
	t.Setenv("NOT_PASSED", "x")
	dir := t.TempDir()
	s, err := exec.New(exec.Config{
		Command: []string{"sh", "-c", `env > env.txt`},
		Env:     "DELIVERED", EnvPass: []string{"APP_ENV", "UNSET_VAR"}, Dir: dir,
		Meta: sink.Meta{TokenName: "deploy"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa"))); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "env.txt"))
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	want := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": "/home/tw", "LANG": "C.UTF-8", "TZ": "Europe/Berlin",
		"APP_ENV": "production", "TOKENWARDEN_TOKEN_NAME": "deploy", "DELIVERED": "glpat-aaaaaaaaaaaaaaaaaaaa",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("hook sees %s=%q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		switch k {
		case "PWD", "SHLVL", "_", "OLDPWD": // the shell's own
			continue
		}
		if _, ok := want[k]; !ok {
			t.Errorf("hook sees %s, which it was not given", k)
		}
	}
	for k, v := range hostileEnv {
		if strings.Contains(string(b), v) {
			t.Errorf("hook sees the value of %s", k)
		}
	}
}
func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	s, _ := exec.New(exec.Config{Command: []string{"sh", "-c", `sleep 60 & echo $! > child; wait`}, Dir: dir, Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa")))
	if err == nil || !strings.Contains(err.Error(), "timeout") || problem.Hint(err) == "" {
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
		{"no command", exec.Config{}, "command is required"},
		{"bad env", exec.Config{Command: []string{"true"}, Env: "A-B"}, "env is not an environment variable name"},
		{"reserved env", exec.Config{Command: []string{"true"}, Env: "TOKENWARDEN_TOKEN"}, "reserved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
		})
	}
	s, _ := exec.New(exec.Config{Command: []string{"/nonexistent/reload-app"}})
	_, err := s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa")))
	if err == nil || problem.Hint(err) == "" || errors.Is(err, sink.ErrNotReadable) {
		t.Fatalf("Put of a missing program: %v (hint %q)", err, problem.Hint(err))
	}
}

func TestNewlineOption(t *testing.T) {
	dir := t.TempDir()
	s, err := exec.New(exec.Config{Command: []string{"sh", "-c", `cat > in.txt`}, Dir: dir, Newline: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa"))); err != nil {
		t.Fatal(err)
	}
	if in, _ := os.ReadFile(filepath.Join(dir, "in.txt")); string(in) != "glpat-aaaaaaaaaaaaaaaaaaaa\n" {
		t.Errorf("stdin %q, want the secret and one newline", in)
	}
	if _, err := exec.New(exec.Config{Command: []string{"true"}, Env: "TOKEN", Newline: true}); err == nil {
		t.Error("New accepted newline with env: the option only applies to stdin")
	}
}

// TestEnvVarGetsExactlyTheSecret: no newline in the variable either.
func TestEnvVarGetsExactlyTheSecret(t *testing.T) {
	dir := t.TempDir()
	s, _ := exec.New(exec.Config{Command: []string{"sh", "-c", `printf %s "$DELIVERED" > v.txt`}, Env: "DELIVERED", Dir: dir})
	if _, err := s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa"))); err != nil {
		t.Fatal(err)
	}
	if v, _ := os.ReadFile(filepath.Join(dir, "v.txt")); string(v) != "glpat-aaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("$DELIVERED = %q", v)
	}
}

// TestHookOutputScrubbedOfEveryProcessSecret: a hook can still find a
// secret of the process (a file it can read, a value compiled in) and print
// it; its stderr is scrubbed of every secret the process registered, not
// only of the one delivered.
func TestHookOutputScrubbedOfEveryProcessSecret(t *testing.T) {
	const managing = "glpat-managing-admin-token-01"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(managing), 0o600); err != nil {
		t.Fatal(err)
	}
	red := secret.NewRedactor()
	red.Add(secret.New(managing))
	s, err := exec.New(exec.Config{
		Command:  []string{"sh", "-c", `echo "found $(cat admin.token)" >&2; echo "found $(cat admin.token) on stdout"; exit 1`},
		Dir:      dir,
		Redactor: red,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(context.Background(), secret.TokenOnly(secret.New("glpat-aaaaaaaaaaaaaaaaaaaa")))
	if err == nil {
		t.Fatal("Put succeeded although the hook exited 1")
	}
	if msg := err.Error(); strings.Contains(msg, managing) || !strings.Contains(msg, "found [REDACTED]") {
		t.Errorf("error %q: want the managing token replaced by [REDACTED]", msg)
	}
}

func TestEnvPassValidation(t *testing.T) {
	for _, tt := range []struct {
		pass []string
		env  string
		want string
	}{
		{[]string{"A-B"}, "", "env_pass[0] is not an environment variable name"},
		{[]string{"TOKENWARDEN_PASSWORD"}, "", "tokenwarden's own"},
		{[]string{"REG_TOKEN"}, "REG_TOKEN", "the variable the secret goes in"},
	} {
		if _, err := exec.New(exec.Config{Command: []string{"true"}, Env: tt.env, EnvPass: tt.pass}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("EnvPass %v: %v, want %q", tt.pass, err, tt.want)
		}
	}
}
