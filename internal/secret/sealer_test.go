package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const plaintext = "glpat-Zx9QwErTy0123456789ab"

func TestSealRoundTrip(t *testing.T) {
	s, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{plaintext, "", "ü\x00\n multi"} {
		sealed, err := s.Seal(New(v))
		if err != nil {
			t.Fatal(err)
		}
		if v != "" && bytes.Contains(sealed, []byte(v)) {
			t.Errorf("sealed bytes contain the plaintext %q", v)
		}
		got, err := s.Open(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reveal() != v {
			t.Errorf("round trip: got %q, want %q", got.Reveal(), v)
		}
	}
}

func TestSealedBytesHideThePlaintext(t *testing.T) {
	s, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(New(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{plaintext, plaintext[6:], plaintext[len(plaintext)-8:]} {
		if bytes.Contains(sealed, []byte(part)) {
			t.Errorf("sealed bytes contain %q", part)
		}
	}
	again, _ := s.Seal(New(plaintext))
	if bytes.Equal(sealed, again) {
		t.Error("sealing twice gave identical bytes; encryption must be randomized")
	}
}

func TestOpenWithWrongKeyFails(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateKey(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateKey(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a.Seal(New(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Open(sealed)
	if !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with another key: err = %v, want ErrOpen", err)
	}
	if strings.Contains(err.Error(), plaintext) {
		t.Error("error contains the plaintext")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := a.Open(sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of damaged data: err = %v, want ErrOpen", err)
	}
}

func TestLoadOrCreateKeyFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "sub", "tokenwarden.key")
	s1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("created directory mode = %04o, want 0700", perm)
	}
	// The second call loads the same key instead of replacing it.
	sealed, _ := s1.Seal(New(plaintext))
	s2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(sealed); err != nil || got.Reveal() != plaintext {
		t.Fatalf("reloaded key cannot open: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key (temp file left behind?)", len(entries))
	}
}

func TestLoadKeyRefusesLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKey(path)
		var ke *KeyError
		if !errors.As(err, &ke) {
			t.Fatalf("mode %04o: err = %v, want *KeyError", mode, err)
		}
		if ke.Hint != "chmod 600 "+path {
			t.Errorf("mode %04o: hint = %q", mode, ke.Hint)
		}
		if _, err := LoadOrCreateKey(path); err == nil {
			t.Errorf("mode %04o: LoadOrCreateKey accepted a loose key file", mode)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err != nil {
		t.Errorf("mode 0400 refused: %v", err)
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"missing": filepath.Join(dir, "missing"),
		"garbage": garbage,
		"dir":     dir,
	} {
		_, err := LoadKey(path)
		var ke *KeyError
		if !errors.As(err, &ke) {
			t.Errorf("%s: err = %v, want *KeyError", name, err)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadKey created a missing key file")
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	sealers := make([]Sealer, 8)
	var wg sync.WaitGroup
	for i := range sealers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			sealers[i] = s
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed, _ := sealers[0].Seal(New(plaintext))
	for i, s := range sealers {
		if _, err := s.Open(sealed); err != nil {
			t.Errorf("sealer %d has a different key: %v", i, err)
		}
	}
}
