package file

import (
	"bytes"
	"fmt"
	"strings"
)

// dotenv edits KEY=value lines. Every other line — comments, blank lines,
// other keys, their order and quoting — is kept byte for byte. An optional
// "export " prefix is kept. Values are written bare when they are made of
// safe characters, else double-quoted.
type dotenv struct{}

// dotenvLine splits a line into the part up to and including "=" and the
// value text, when it assigns key.
func dotenvLine(line, key string) (prefix, value string, ok bool) {
	rest := strings.TrimLeft(line, " \t")
	if r, found := strings.CutPrefix(rest, "export"); found && (strings.HasPrefix(r, " ") || strings.HasPrefix(r, "\t")) {
		rest = strings.TrimLeft(r, " \t")
	}
	r, found := strings.CutPrefix(rest, key)
	if !found {
		return "", "", false
	}
	r = strings.TrimLeft(r, " \t")
	if !strings.HasPrefix(r, "=") {
		return "", "", false
	}
	value = strings.TrimLeft(r[1:], " \t")
	return line[:len(line)-len(value)], value, true
}

func (dotenv) get(content []byte, key string) (string, bool, error) {
	var (
		val   string
		found bool
	)
	for i, line := range strings.Split(string(content), "\n") {
		_, raw, ok := dotenvLine(strings.TrimSuffix(line, "\r"), key)
		if !ok {
			continue
		}
		v, err := dotenvValue(raw)
		if err != nil {
			return "", false, fmt.Errorf("line %d: %w", i+1, err)
		}
		val, found = v, true // the last assignment wins, as in every dotenv loader
	}
	return val, found, nil
}

func (dotenv) set(content []byte, key, value string) ([]byte, error) {
	lines := strings.Split(string(content), "\n")
	replaced := false
	for i, line := range lines {
		cr := strings.HasSuffix(line, "\r")
		prefix, _, ok := dotenvLine(strings.TrimSuffix(line, "\r"), key)
		if !ok {
			continue
		}
		lines[i] = prefix + dotenvQuote(value)
		if cr {
			lines[i] += "\r"
		}
		replaced = true
	}
	out := strings.Join(lines, "\n")
	if !replaced {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += key + "=" + dotenvQuote(value) + "\n"
	}
	return []byte(out), nil
}

// dotenvValue decodes a value as docker compose / python-dotenv / systemd's
// EnvironmentFile read it, for the forms tokenwarden writes and the common
// hand-written ones.
func dotenvValue(raw string) (string, error) {
	v := strings.TrimLeft(raw, " \t")
	switch {
	case strings.HasPrefix(v, `"`):
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch c {
			case '"':
				return b.String(), nil
			case '\\':
				if i+1 < len(v) {
					i++
					switch v[i] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(v[i])
					}
					continue
				}
			}
			b.WriteByte(c)
		}
		return "", fmt.Errorf("unterminated double quote")
	case strings.HasPrefix(v, "'"):
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", fmt.Errorf("unterminated single quote")
		}
		return v[1 : 1+end], nil
	default:
		if i := strings.Index(v, " #"); i >= 0 {
			v = v[:i]
		}
		return strings.TrimRight(v, " \t"), nil
	}
}

// dotenvQuote writes value bare when every loader reads it back unchanged,
// else in double quotes with \, ", $, ` and newlines escaped.
func dotenvQuote(value string) string {
	safe := value != ""
	for i := 0; i < len(value); i++ {
		c := value[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || bytes.IndexByte([]byte("_-./:@+=~,%"), c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return value
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`", "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(value) + `"`
}
