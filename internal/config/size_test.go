package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesHugeFile: a config far larger than any real one is refused
// up front, naming the file, its size, the limit and what to do, instead of
// being parsed for seconds into gigabytes of memory.
func TestLoadRefusesHugeFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		t.Helper()
		var b strings.Builder
		b.WriteString(head)
		line := "# " + strings.Repeat("x", 97) + "\n"
		for b.Len()+len(line) <= size {
			b.WriteString(line)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	big := write("big.yaml", 20<<20)
	_, err := Load(big)
	errs := Errors(err)
	if len(errs) != 1 {
		t.Fatalf("Load(20 MiB): got %v, want one config error", err)
	}
	e := errs[0]
	for _, want := range []string{big, "20.0 MiB", "1 MiB"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("error %q does not mention %q", e.Error(), want)
		}
	}
	if e.Hint == "" {
		t.Errorf("error %q has no hint", e.Error())
	}
	if _, err := Parse("big.yaml", make([]byte, MaxFileSize+1)); len(Errors(err)) != 1 || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("Parse(over the limit): got %v, want the size error", err)
	}

	// A large but plausible config (many tokens, long comments) still loads.
	if _, err := Load(write("large.yaml", 900<<10)); err != nil {
		t.Errorf("Load(900 KiB): %v", err)
	}
}
