package file

import (
	"errors"
	"fmt"
	"strings"
)

// checkKeyPath validates a JSON/YAML key: dot-separated, no empty segment.
func checkKeyPath(key string) error {
	if key == "" {
		return errors.New("no key given")
	}
	for _, seg := range strings.Split(key, ".") {
		if seg == "" {
			return fmt.Errorf("key %q has an empty segment", key)
		}
	}
	return nil
}
