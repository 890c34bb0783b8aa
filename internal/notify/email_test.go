package notify_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// dialTo sends every connection to the test server, whatever host the
// channel was configured with.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func TestEmailMessage(t *testing.T) {
	srv := startSMTP(t, &smtpServer{})
	ch, err := notify.NewEmail(notify.EmailConfig{
		Host: "127.0.0.1", Port: 2525, From: "Tokenwarden <tw@example.com>",
		To: []string{"ops@example.com", "Jörg Sec <sec@example.com>"}, Hostname: "tw-host",
		Clock: clock.NewFake(t0), Dial: dialTo(srv.addr()),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := expiringEvent(7 * day)
	e.Token.Name = "déploiement"
	e.TokenRef = "group/platform/infra:déploiement"
	if err := ch.Send(context.Background(), "0123abcd", e); err != nil {
		t.Fatal(err)
	}
	s := one(t, srv.got(), "sessions")
	if s.Helo != "tw-host" || s.From != "tw@example.com" || strings.Join(s.To, ",") != "ops@example.com,sec@example.com" {
		t.Errorf("envelope: helo %q from %q to %q", s.Helo, s.From, s.To)
	}
	if s.Commands[len(s.Commands)-1] != "QUIT" {
		t.Errorf("session did not end with QUIT: %v", s.Commands)
	}
	msg, err := mail.ReadMessage(strings.NewReader(s.Data))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, s.Data)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(t0) {
		t.Errorf("Date = %q (%v), want %v", msg.Header.Get("Date"), err, t0)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "tw@example.com" || from[0].Name != "Tokenwarden" {
		t.Errorf("From = %q (%v)", msg.Header.Get("From"), err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "Jörg Sec" || to[1].Address != "sec@example.com" {
		t.Errorf("To = %q (%v)", msg.Header.Get("To"), err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if want := "[tokenwarden] Token group/platform/infra:déploiement expires on 2026-12-02 (in 6 days)"; err != nil || subject != want {
		t.Errorf("Subject = %q (%v), want %q", subject, err, want)
	}
	if id := msg.Header.Get("Message-ID"); !regexp.MustCompile(`^<0123abcd\.expiring@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID = %q", id)
	}
	for h, want := range map[string]string{
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Auto-Submitted": "auto-generated",
		"Content-Transfer-Encoding": "quoted-printable", notify.HeaderEvent: "expiring",
	} {
		if got := msg.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Token:        group/platform/infra:déploiement", "Expires:      2026-12-02T00:00:00Z", "Threshold:    7d", "Token id:     42"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

// Every line of the message ends in CRLF, and no event field can add a header.
func TestEmailMessageIsWellFormed(t *testing.T) {
	ch, err := notify.NewEmail(notify.EmailConfig{Host: "mail.example.com", From: "tw@example.com", To: []string{"ops@example.com"}, Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	e := notify.Event{Kind: notify.KindRotationFailed, TokenRef: "group/g:ci", Detail: "boom\r\nBcc: victim@example.com\n." + strings.Repeat("x", 300), At: t0}
	raw := ch.Message("d1", e)
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("a line ends in a bare LF")
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	if bytes.Contains(head, []byte("\r\nBcc:")) {
		t.Errorf("event detail injected a header:\n%s", head)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d characters", len(line))
		}
	}
}

func TestEmailSTARTTLSAndAuth(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t, "mail.example.com")
	tests := []struct {
		name      string
		tls       bool // the server offers STARTTLS
		host      string
		wantErr   string
		permanent bool
		check     func(t *testing.T, s *smtpSession)
	}{
		{
			name: "STARTTLS then AUTH PLAIN", tls: true, host: "mail.example.com",
			check: func(t *testing.T, s *smtpSession) {
				if !s.TLS || !s.AuthTLS || s.Auth != "\x00tw\x00hunter2-SMTP" {
					t.Errorf("tls %v, auth over tls %v, credentials %q", s.TLS, s.AuthTLS, s.Auth)
				}
				if s.Data == "" {
					t.Error("no message")
				}
			},
		},
		{
			name: "no TLS offered: password withheld", host: "mail.example.com",
			wantErr: "refusing to send the password in the clear", permanent: true,
			check: func(t *testing.T, s *smtpSession) {
				if s.Auth != "" || s.Data != "" {
					t.Errorf("sent AUTH %q / DATA over plaintext", s.Auth)
				}
			},
		},
		{
			name: "plaintext AUTH to localhost", host: "localhost",
			check: func(t *testing.T, s *smtpSession) {
				if s.Auth != "\x00tw\x00hunter2-SMTP" || s.Data == "" {
					t.Errorf("auth %q, data %d bytes", s.Auth, len(s.Data))
				}
			},
		},
		{
			name: "certificate for another host", tls: true, host: "smtp.other.example",
			wantErr: "STARTTLS",
			check: func(t *testing.T, s *smtpSession) {
				if s.Auth != "" {
					t.Error("sent the password after a failed handshake")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &smtpServer{auth: true}
			if tt.tls {
				srv.tls = serverTLS
			}
			startSMTP(t, srv)
			ch, err := notify.NewEmail(notify.EmailConfig{
				Host: tt.host, Port: 587, From: "tw@example.com", To: []string{"ops@example.com"},
				Username: "tw", Password: secret.New("hunter2-SMTP"),
				TLSConfig: clientTLS.Clone(), Dial: dialTo(srv.addr()), Clock: clock.NewFake(t0),
			})
			if err != nil {
				t.Fatal(err)
			}
			err = ch.Send(context.Background(), "d1", expiringEvent(7*day))
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals the password: %v", err)
			}
			if notify.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v, want %v", notify.IsPermanent(err), tt.permanent)
			}
			srv.l.Close()
			srv.waitGroup.Wait()
			if s := srv.got(); len(s) == 1 {
				tt.check(t, s[0])
			} else {
				t.Fatalf("sessions = %d", len(s))
			}
		})
	}
}

func TestEmailRejectedRecipientIsPermanent(t *testing.T) {
	srv := startSMTP(t, &smtpServer{rejectTo: "gone@example.com"})
	ch, err := notify.NewEmail(notify.EmailConfig{Host: "127.0.0.1", From: "tw@example.com", To: []string{"gone@example.com"}, Dial: dialTo(srv.addr())})
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), "d1", expiringEvent(0))
	if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
		t.Errorf("err = %v, want a permanent 550", err)
	}
}

// Through the Notifier, a mail is delivered once even when the first
// connection is refused.
func TestEmailThroughNotifier(t *testing.T) {
	srv := startSMTP(t, &smtpServer{})
	refusals := 1
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if refusals > 0 {
			refusals--
			return nil, &net.OpError{Op: "dial", Net: network, Err: io.ErrUnexpectedEOF}
		}
		return dialTo(srv.addr())(ctx, network, addr)
	}
	ch, err := notify.NewEmail(notify.EmailConfig{Host: "127.0.0.1", From: "tw@example.com", To: []string{"ops@example.com"}, Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	n := notify.New([]notify.Channel{ch}, nil, nil, nil, fastRetry())
	for range 2 {
		if err := n.Notify(context.Background(), expiringEvent(7*day)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "mail", func() bool { return len(srv.got()) == 1 })
	}
	closeNow(t, n)
	if s := srv.got(); len(s) != 1 || s[0].Data == "" {
		t.Errorf("sessions = %d, want one mail", len(s))
	}
}

func TestNewEmailRejectsBadAddresses(t *testing.T) {
	for _, cfg := range []notify.EmailConfig{
		{Host: "h", From: "not an address", To: []string{"a@example.com"}},
		{Host: "h", From: "tw@example.com", To: []string{"a@example.com", "@@"}},
		{Host: "h", From: "tw@example.com"},
		{From: "tw@example.com", To: []string{"a@example.com"}},
	} {
		if _, err := notify.NewEmail(cfg); err == nil {
			t.Errorf("NewEmail(%+v): no error", cfg)
		}
	}
}
