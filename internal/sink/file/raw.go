package file

import "strings"

// raw: the whole file is the secret, followed by one newline.
type raw struct{}

func (raw) get(content []byte, _ string) (string, bool, error) {
	if len(content) == 0 {
		return "", false, nil
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(content), "\n"), "\r"), true, nil
}

func (raw) set(_ []byte, _, value string) ([]byte, error) { return []byte(value + "\n"), nil }
