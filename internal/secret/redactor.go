package secret

import (
	"io"
	"sort"
	"strings"
	"sync"
)

// MinRedactLen is the shortest value a Redactor replaces. Shorter values
// (a four-letter password, a test token such as "abc") would turn ordinary
// words in messages into [REDACTED] and are ignored; every real GitLab
// token, and any password worth the name, is longer.
const MinRedactLen = 8

// Redactor replaces every secret the process holds with [REDACTED] in text
// that came from outside: a hook's output, a GitLab or database error, a
// log line. The process has one; each secret is added to it as soon as it
// is read or minted. It is safe for concurrent use, and a nil *Redactor
// scrubs nothing.
type Redactor struct {
	mu   sync.RWMutex
	vals map[string]struct{}
	rep  *strings.Replacer // rebuilt on Add; nil when empty
}

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{vals: map[string]struct{}{}} }

// Add registers secrets. Values shorter than MinRedactLen are ignored.
func (r *Redactor) Add(secrets ...Secret) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, s := range secrets {
		v := s.Reveal()
		if len(v) < MinRedactLen {
			continue
		}
		if _, ok := r.vals[v]; !ok {
			r.vals[v] = struct{}{}
			changed = true
		}
	}
	if !changed {
		return
	}
	// Longest first: when one secret contains another, the whole of the
	// longer one goes (strings.Replacer tries its pairs in order).
	vals := make([]string, 0, len(r.vals))
	for v := range r.vals {
		vals = append(vals, v)
	}
	sort.Slice(vals, func(i, j int) bool {
		if len(vals[i]) != len(vals[j]) {
			return len(vals[i]) > len(vals[j])
		}
		return vals[i] < vals[j]
	})
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, Redacted)
	}
	r.rep = strings.NewReplacer(pairs...)
}

// Len is how many secrets are registered.
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.vals)
}

// Scrub returns s with every registered secret replaced by [REDACTED].
func (r *Redactor) Scrub(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.RLock()
	rep := r.rep
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Writer returns a writer that scrubs each Write before passing it to w.
// A secret split over two writes is not recognised: it suits writers that
// get whole lines or messages at once (fmt.Fprintf, slog handlers).
func (r *Redactor) Writer(w io.Writer) io.Writer { return &scrubWriter{w: w, r: r} }

type scrubWriter struct {
	w io.Writer
	r *Redactor
}

// Unwrap returns the writer underneath, for callers that ask whether it is
// a terminal.
func (sw *scrubWriter) Unwrap() io.Writer { return sw.w }

func (sw *scrubWriter) Write(p []byte) (int, error) {
	out := sw.r.Scrub(string(p))
	if _, err := io.WriteString(sw.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ScrubError returns err with its message scrubbed; errors.Is and errors.As
// still see the errors it wraps. Nil stays nil, and an error with no secret
// in its message is returned as it is.
func (r *Redactor) ScrubError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if scrubbed := r.Scrub(msg); scrubbed != msg {
		return &scrubbedError{msg: scrubbed, err: err}
	}
	return err
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
