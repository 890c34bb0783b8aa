package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// EmailConfig is an SMTP relay and the people to tell.
type EmailConfig struct {
	Host     string
	Port     int // 465: implicit TLS; otherwise STARTTLS when the server offers it
	From     string
	To       []string
	Username string        // "": no authentication
	Password secret.Secret // sent (AUTH PLAIN) only over TLS or to localhost
	// Hostname is said in EHLO; "" means os.Hostname.
	Hostname string
	// TLSConfig verifies the server; nil means the system roots with
	// ServerName Host.
	TLSConfig *tls.Config
	// Dial connects to host:port; nil means a net.Dialer.
	Dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	Clock clock.Clock // Date header; nil: the wall clock
}

// Email sends each event as a plain-text RFC 5322 message.
type Email struct {
	cfg  EmailConfig
	from *mail.Address
	to   []*mail.Address
	id   string
}

// NewEmail checks the addresses and returns the channel for cfg.
func NewEmail(cfg EmailConfig) (*Email, error) {
	if cfg.Host == "" {
		return nil, errors.New("email: no SMTP host")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: from %q: %w", cfg.From, err)
	}
	if len(cfg.To) == 0 {
		return nil, errors.New("email: no recipients")
	}
	var to []*mail.Address
	for _, s := range cfg.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("email: to %q: %w", s, err)
		}
		to = append(to, a)
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
		if cfg.Hostname == "" {
			cfg.Hostname = "localhost"
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	dest := cfg.Host + ":" + strconv.Itoa(cfg.Port) + " " + strings.Join(cfg.To, ",")
	return &Email{cfg: cfg, from: from, to: to, id: "email-" + shortHash(dest)}, nil
}

// ID implements Channel.
func (m *Email) ID() string { return m.id }

// Send implements Channel: one SMTP session per message.
func (m *Email) Send(ctx context.Context, deliveryID string, e Event) error {
	if err := m.send(ctx, deliveryID, e); err != nil {
		var tpe *textproto.Error
		if errors.As(err, &tpe) && tpe.Code >= 500 {
			err = Permanent(err)
		}
		return fmt.Errorf("%s: %w", m.id, err)
	}
	return nil
}

func (m *Email) send(ctx context.Context, deliveryID string, e Event) error {
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	conn, err := m.cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Abort a stuck session when ctx ends (Close drains, cancels).
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tlsCfg := m.tlsConfig()
	if m.cfg.Port == 465 {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS to %s: %w", addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		return fmt.Errorf("smtp greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(m.cfg.Hostname); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	_, secure := c.TLSConnectionState()
	if ok, _ := c.Extension("STARTTLS"); ok && !secure {
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
		secure = true
	}
	if m.cfg.Username != "" {
		if !secure && !isLocalhost(m.cfg.Host) {
			return Permanent(fmt.Errorf("smtp: %s offers no TLS; refusing to send the password in the clear", addr))
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return Permanent(fmt.Errorf("smtp: %s does not offer AUTH", addr))
		}
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password.Reveal(), m.cfg.Host)); err != nil {
			return fmt.Errorf("smtp AUTH as %s: %w", m.cfg.Username, err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	for _, a := range m.to {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(m.Message(deliveryID, e)); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := c.Quit(); err != nil {
		// The message was accepted at the end of DATA; a failed QUIT is
		// not worth sending it twice.
		return nil
	}
	return nil
}

func (m *Email) tlsConfig() *tls.Config {
	if m.cfg.TLSConfig != nil {
		c := m.cfg.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = m.cfg.Host
		}
		return c
	}
	return &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
}

func isLocalhost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
