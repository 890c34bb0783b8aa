package file

import "strings"

// raw: the whole file is the secret, byte for byte — or, with newline, the
// secret and one "\n" for consumers that want a text file.
type raw struct{ newline bool }

func (r raw) get(content []byte, _ string) (string, bool, error) {
	if len(content) == 0 {
		return "", false, nil
	}
	v := string(content)
	if r.newline {
		v = strings.TrimSuffix(v, "\n")
	}
	return v, true, nil
}

func (r raw) set(_ []byte, _, value string) ([]byte, error) {
	if r.newline {
		return []byte(value + "\n"), nil
	}
	return []byte(value), nil
}
