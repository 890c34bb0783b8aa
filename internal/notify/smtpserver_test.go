package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a tiny SMTP server: EHLO/HELO, STARTTLS (when it has a
// certificate), AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It records
// every session.
type smtpServer struct {
	l         net.Listener
	tls       *tls.Config // nil: no STARTTLS
	auth      bool        // offer AUTH PLAIN
	rejectTo  string      // RCPT TO this address gets 550
	mu        sync.Mutex
	sessions  []*smtpSession
	waitGroup sync.WaitGroup
}

type smtpSession struct {
	Helo     string
	TLS      bool
	AuthTLS  bool   // AUTH came after STARTTLS
	Auth     string // decoded AUTH PLAIN credentials, "\x00user\x00pass"
	From     string
	To       []string
	Data     string
	Commands []string
}

func startSMTP(t *testing.T, s *smtpServer) *smtpServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.l = l
	s.waitGroup.Add(1)
	go func() {
		defer s.waitGroup.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.waitGroup.Add(1)
			go func() { defer s.waitGroup.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { l.Close(); s.waitGroup.Wait() })
	return s
}

func (s *smtpServer) addr() string { return s.l.Addr().String() }

func (s *smtpServer) got() []*smtpSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*smtpSession(nil), s.sessions...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	sess := &smtpSession{}
	s.mu.Lock()
	s.sessions = append(s.sessions, sess)
	s.mu.Unlock()
	tp := textproto.NewConn(c)
	reply := func(line string) { _ = tp.PrintfLine("%s", line) }
	reply("220 test.example ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.mu.Lock()
		sess.Commands = append(sess.Commands, verb)
		s.mu.Unlock()
		switch verb {
		case "EHLO", "HELO":
			s.mu.Lock()
			sess.Helo = arg
			s.mu.Unlock()
			ext := []string{"250-test.example", "250-8BITMIME"}
			if s.tls != nil && !sess.TLS {
				ext = append(ext, "250-STARTTLS")
			}
			if s.auth {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 SMTPUTF8")
			for _, e := range ext {
				reply(e)
			}
		case "STARTTLS":
			if s.tls == nil || sess.TLS {
				reply("502 not offered")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			tp = textproto.NewConn(tc)
			s.mu.Lock()
			sess.TLS = true
			s.mu.Unlock()
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !s.auth || !strings.EqualFold(mech, "PLAIN") {
				reply("504 unrecognized mechanism")
				continue
			}
			b, err := base64.StdEncoding.DecodeString(resp)
			if err != nil {
				reply("501 bad base64")
				continue
			}
			s.mu.Lock()
			sess.Auth, sess.AuthTLS = string(b), sess.TLS
			s.mu.Unlock()
			reply("235 authenticated")
		case "MAIL":
			s.mu.Lock()
			sess.From = angle(arg)
			s.mu.Unlock()
			reply("250 ok")
		case "RCPT":
			to := angle(arg)
			if to == s.rejectTo {
				reply("550 no such user")
				continue
			}
			s.mu.Lock()
			sess.To = append(sess.To, to)
			s.mu.Unlock()
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			sess.Data = string(b)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

// selfSigned returns a server certificate for name and a client config
// that trusts it.
func selfSigned(t *testing.T, name string) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

// angle returns the address between < and > in "FROM:<a@b> BODY=8BITMIME".
func angle(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}
