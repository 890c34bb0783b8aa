package tokenfind

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Found is one GitLab token in a value. It carries the token only as a
// secret.Secret (which prints as [REDACTED]), for the caller to identify it
// with GitLab; everything else is safe to show.
type Found struct {
	Kind   Kind
	Hint   string        // prefix + "…" + last four characters
	Digest string        // Digest of the token
	Where  string        // where in a file variable's content: "line 2", "auths.registry.example.com"; "" for the whole value
	Secret secret.Secret `json:"-"`
}

// Digest names a secret without revealing it: "sha256:" and the first 16
// hex digits of its SHA-256. A GitLab token has at least 120 random bits,
// so the digest cannot be turned back into the token; tokenwarden uses the
// same digest wherever it must recognise a secret it has seen (the journal,
// scan --variables).
func Digest(s secret.Secret) string {
	sum := sha256.Sum256([]byte(s.Reveal()))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// Hint is the prefix and the last four characters of a token of kind k.
func Hint(k Kind, v string) string {
	body := strings.TrimPrefix(v[strings.Index(v, k.Prefix):], k.Prefix)
	if len(body) <= 8 {
		return k.Prefix + "…"
	}
	return k.Prefix + "…" + body[len(body)-4:]
}

// Find returns the GitLab tokens in a variable's value, each once, in the
// order they appear. file says the variable is a file variable: its content
// is then also read as a Docker config.json (whose auths hold base64
// user:password pairs) and each token is located by line.
func Find(value string, file bool) []Found {
	var out []Found
	seen := map[string]bool{}
	add := func(tok, where string) {
		if seen[tok] {
			return
		}
		seen[tok] = true
		k, _ := kindIn(tok)
		s := secret.New(tok)
		out = append(out, Found{Kind: k, Hint: Hint(k, tok), Digest: Digest(s), Where: where, Secret: s})
	}
	if file {
		for _, a := range dockerAuths(value) {
			for _, tok := range scan(a.text) {
				add(tok, "auths."+a.registry)
			}
		}
	}
	for _, tok := range scan(value) {
		where := ""
		if file {
			where = fmt.Sprintf("line %d", strings.Count(value[:strings.Index(value, tok)], "\n")+1)
		}
		add(tok, where)
	}
	return out
}

// kindIn is the kind of a token found by scan (which may carry an instance
// prefix before glpat-).
func kindIn(tok string) (Kind, bool) {
	if k, ok := KindOf(tok); ok {
		return k, true
	}
	if _, ok := AccessTokenBody(tok); ok {
		return AccessToken, true
	}
	return Kind{}, false
}

// scan finds every token-shaped run in s: a known prefix, not glued to a
// token character before it (except an instance prefix "xyz-" before
// glpat-), followed by at least MinBody token characters.
func scan(s string) []string {
	type hit struct {
		at  int
		tok string
	}
	var hits []hit
	for _, k := range Kinds {
		for from := 0; ; {
			i := strings.Index(s[from:], k.Prefix)
			if i < 0 {
				break
			}
			i += from
			from = i + len(k.Prefix)
			start := i
			if i > 0 && TokenRune(rune(s[i-1])) {
				if k != AccessToken || s[i-1] != '-' {
					continue
				}
				// an instance prefix: "<prefix>-glpat-…"
				j := i - 1
				for j > 0 && i-j <= 21 && TokenRune(rune(s[j-1])) && s[j-1] != '.' {
					j--
				}
				if j > 0 && TokenRune(rune(s[j-1])) {
					continue
				}
				start = j
			}
			end := from
			for end < len(s) && TokenRune(rune(s[end])) {
				end++
			}
			for end > from && s[end-1] == '.' { // a sentence's full stop
				end--
			}
			if end-from < MinBody {
				continue
			}
			hits = append(hits, hit{start, s[start:end]})
			from = end
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].at < hits[b].at })
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.tok
	}
	return out
}

type dockerAuth struct{ registry, text string }

// dockerAuths reads a Docker config.json's auths: each registry's auth
// (base64 "user:password") decoded, plus its other fields as they are.
func dockerAuths(v string) []dockerAuth {
	var cfg struct {
		Auths map[string]map[string]any `json:"auths"`
	}
	if !strings.Contains(v, "auths") || json.Unmarshal([]byte(v), &cfg) != nil {
		return nil
	}
	var out []dockerAuth
	for reg, fields := range cfg.Auths {
		var b strings.Builder
		for name, f := range fields {
			s, ok := f.(string)
			if !ok {
				continue
			}
			if name == "auth" {
				if d, err := base64.StdEncoding.DecodeString(s); err == nil {
					s = string(d)
				}
			}
			b.WriteString(s + "\n")
		}
		out = append(out, dockerAuth{reg, b.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].registry < out[j].registry })
	return out
}
