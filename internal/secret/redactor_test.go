package secret

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestRedactorScrubsEveryRegisteredSecret(t *testing.T) {
	r := NewRedactor()
	r.Add(New("glpat-managing00000000001"), New("pg-password-77"), New("short"), Secret{})
	got := r.Scrub("token glpat-managing00000000001 failed; password=pg-password-77 short words stay")
	want := "token [REDACTED] failed; password=[REDACTED] short words stay"
	if got != want {
		t.Errorf("Scrub = %q\nwant    %q", got, want)
	}
	if r.Len() != 2 {
		t.Errorf("Len = %d, want 2 (values under %d characters are ignored)", r.Len(), MinRedactLen)
	}
}

func TestRedactorPrefersTheLongerSecret(t *testing.T) {
	r := NewRedactor()
	// Registered shorter first: the longer must still go as a whole.
	r.Add(New("abcdefgh12"), New("abcdefgh1234567890"))
	if got := r.Scrub("x abcdefgh1234567890 y"); got != "x [REDACTED] y" {
		t.Errorf("Scrub = %q: a piece of the longer secret survived", got)
	}
}

func TestRedactorNilAndEmpty(t *testing.T) {
	var r *Redactor
	r.Add(New("glpat-aaaaaaaaaaaaaaaa"))
	if got := r.Scrub("glpat-aaaaaaaaaaaaaaaa"); got != "glpat-aaaaaaaaaaaaaaaa" {
		t.Errorf("nil Redactor changed text: %q", got)
	}
	if got := NewRedactor().Scrub("nothing registered"); got != "nothing registered" {
		t.Errorf("empty Redactor changed text: %q", got)
	}
}

func TestRedactorConcurrent(t *testing.T) {
	r := NewRedactor()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		v := fmt.Sprintf("glpat-concurrent-%08d", i)
		go func() { defer wg.Done(); r.Add(New(v)) }()
		go func() { defer wg.Done(); _ = r.Scrub("some text " + v) }()
	}
	wg.Wait()
	for i := 0; i < 8; i++ {
		v := fmt.Sprintf("glpat-concurrent-%08d", i)
		if strings.Contains(r.Scrub(v), v) {
			t.Errorf("%s not scrubbed after concurrent Add", v)
		}
	}
}

func TestRedactorWriter(t *testing.T) {
	r := NewRedactor()
	r.Add(New("glpat-writer0000000000"))
	var buf bytes.Buffer
	w := r.Writer(&buf)
	n, err := fmt.Fprintf(w, "error: hook said glpat-writer0000000000\n")
	if err != nil || n != len("error: hook said glpat-writer0000000000\n") {
		t.Fatalf("Fprintf = %d, %v", n, err)
	}
	if got := buf.String(); got != "error: hook said [REDACTED]\n" {
		t.Errorf("written %q", got)
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestRedactingHandler(t *testing.T) {
	const tok = "glpat-loghandler00000001"
	r := NewRedactor()
	r.Add(New(tok))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{
		slog.NewTextHandler(&buf, nil),
		slog.NewJSONHandler(&buf, nil),
	} {
		log := slog.New(RedactingHandler(h, r)).With("bound", "with "+tok)
		log.Info("hook printed "+tok,
			"stderr", "x "+tok,
			"err", errors.New("GitLab said: invalid token "+tok),
			"stringer", stringer{tok},
			"bytes", []byte(tok),
			slog.Group("g", "inner", tok),
			"count", 3,
		)
		log.WithGroup("grp").Warn("m", "k", tok)
	}
	out := buf.String()
	if strings.Contains(out, tok) {
		t.Errorf("log output holds the secret:\n%s", out)
	}
	for _, want := range []string{`msg="hook printed [REDACTED]"`, `err="GitLab said: invalid token [REDACTED]"`, `g.inner=[REDACTED]`, `count=3`, `"count":3`, `"bound":"with [REDACTED]"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %s:\n%s", want, out)
		}
	}
}

func TestRedactorScrubError(t *testing.T) {
	r := NewRedactor()
	r.Add(New("glpat-errorerror0000001"))
	sentinel := errors.New("in progress")
	err := r.ScrubError(fmt.Errorf("hook said glpat-errorerror0000001: %w", sentinel))
	if err.Error() != "hook said [REDACTED]: in progress" {
		t.Errorf("message %q", err)
	}
	if !errors.Is(err, sentinel) {
		t.Error("the scrubbed error no longer wraps the original")
	}
	if r.ScrubError(nil) != nil {
		t.Error("ScrubError(nil) != nil")
	}
	if plain := errors.New("nothing secret"); r.ScrubError(plain) != plain {
		t.Error("an error without a secret was replaced")
	}
}
