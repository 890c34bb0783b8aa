package notify

import (
	"bytes"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// maxSubject keeps the Subject line readable in a mail client's list.
const maxSubject = 140

// Message renders e as an RFC 5322 message with CRLF line endings: Date,
// From, To, Subject, Message-ID (derived from the delivery id, so a retry
// carries the same one), MIME headers, Auto-Submitted, and a
// quoted-printable UTF-8 text body.
func (m *Email) Message(deliveryID string, e Event) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + oneLine(v) + "\r\n") }
	h("Date", m.cfg.Clock.Now().Format(time.RFC1123Z))
	h("From", m.from.String())
	to := make([]string, len(m.to))
	for i, a := range m.to {
		to[i] = a.String()
	}
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", truncate("[tokenwarden] "+e.Summary(), maxSubject)))
	h("Message-ID", "<"+deliveryID+"."+string(e.Kind)+"@"+domainOf(m.from)+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	h(HeaderEvent, string(e.Kind))
	h(HeaderDelivery, deliveryID)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(e.Body()))
	_ = qp.Close()
	return b.Bytes()
}

func domainOf(a *mail.Address) string {
	if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
		return a.Address[i+1:]
	}
	return "tokenwarden.invalid"
}

// oneLine keeps a header value on its line: no CR or LF can start a
// header of the caller's choosing.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
