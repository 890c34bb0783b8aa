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
