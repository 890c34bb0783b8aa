package file

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkKeyPath validates a JSON/YAML key: dot-separated, no empty segment.
func checkKeyPath(key string) error {
	if key == "" {
		return errors.New("no key given")
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("key %q is not valid UTF-8", key)
	}
	for _, seg := range strings.Split(key, ".") {
		if seg == "" {
			return fmt.Errorf("key %q has an empty segment", key)
		}
	}
	return nil
}

// stringAt is what a JSON or TOML key reads as when it holds v: v when it
// is a string, else an error naming, as kind calls it, what stands there.
func stringAt(key string, v any, kind func(any) string) (string, bool, error) {
	s, ok := v.(string)
	if !ok {
		return "", false, fmt.Errorf("key %s holds a %s, not a string", key, kind(v))
	}
	return s, true, nil
}
