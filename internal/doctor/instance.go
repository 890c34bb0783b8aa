package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// checkInstance asks the instance, without the token, whether a GitLab API
// answers at the URL. GitLab answers GET /api/v4/version with 401 when no
// token is sent, which is enough to know it is there.
func checkInstance(ctx context.Context, s *session) Result {
	if s.baseURL == "" {
		return fail("no GitLab URL given", "pass --url https://gitlab.example.com or set GITLAB_URL (in a GitLab CI job CI_SERVER_URL is used)")
	}
	u, err := url.Parse(s.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail(fmt.Sprintf("%q is not a URL doctor can use", s.baseURL), "give the instance's root URL with its scheme, e.g. https://gitlab.example.com")
	}
	probe := s.baseURL + "/api/v4/version"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
	if err != nil {
		return fail(fmt.Sprintf("cannot build a request for %s: %v", probe, err), "check --url")
	}
	req.Header.Set("User-Agent", "tokenwarden-doctor")
	resp, err := s.http.Do(req)
	if err != nil {
		return transportFailure(s.baseURL, u, s.timeout, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized:
		// GitLab answers both in JSON; a login page, a proxy or a web site
		// at the URL answers with HTML.
		if got, ok := apiAnswer(resp); !ok {
			return fail(fmt.Sprintf("not a GitLab API at %s (got %s)", s.baseURL, got),
				"use the instance's root URL (the address of its web interface, e.g. https://gitlab.example.com), without /api/v4 or a project path; if a single sign-on page sits in front of GitLab, use the address that reaches GitLab itself")
		}
		return pass(fmt.Sprintf("%s answers", s.baseURL))
	case resp.StatusCode == http.StatusNotFound:
		return fail(fmt.Sprintf("%s answers, but there is no GitLab API at %s (404)", s.baseURL, probe),
			"use the instance's root URL (the address of its web interface, e.g. https://gitlab.example.com), without /api/v4 or a project path")
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fail(fmt.Sprintf("%s redirects the API to %s (%s)", s.baseURL, resp.Header.Get("Location"), resp.Status),
			"use the URL the instance redirects to (often https:// instead of http://, or a different host name)")
	case resp.StatusCode == http.StatusTooManyRequests:
		return fail(fmt.Sprintf("%s is rate-limiting this client (429)", s.baseURL), "wait a minute and run doctor again; if it persists, ask the GitLab admins about the rate limits")
	case resp.StatusCode >= 500:
		return fail(fmt.Sprintf("%s answers with an error: %s", s.baseURL, resp.Status), "the instance (or a proxy in front of it) is down or failing: check its status page or ask its admins, then run doctor again")
	default:
		return fail(fmt.Sprintf("%s answers %s to the API, not what GitLab answers", s.baseURL, resp.Status),
			"check that --url is the GitLab instance and not a proxy or login page in front of it")
	}
}

// transportFailure says in plain words why no HTTP answer came back.
func transportFailure(base string, u *url.URL, timeout time.Duration, err error) Result {
	host := u.Hostname()
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr):
		return fail(fmt.Sprintf("cannot reach %s: the host name %s cannot be resolved (DNS)", base, host),
			"check the spelling of the host in --url / GITLAB_URL, and that this machine can resolve it (VPN, /etc/resolv.conf)")
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(fmt.Sprintf("cannot reach %s: connection refused (nothing listens on %s)", base, u.Host),
			"check the host and port in --url / GITLAB_URL, and that GitLab is running there")
	case errors.As(err, &unknownCA):
		return fail(fmt.Sprintf("cannot reach %s: its TLS certificate is signed by an authority this machine does not trust", base),
			"add the instance's CA certificate to the system trust store, or point SSL_CERT_FILE at it")
	case errors.As(err, &hostErr):
		return fail(fmt.Sprintf("cannot reach %s: its TLS certificate is not valid for %s", base, host),
			"use the host name the certificate was issued for in --url / GITLAB_URL")
	case errors.As(err, &invalid):
		return fail(fmt.Sprintf("cannot reach %s: its TLS certificate is invalid (%s)", base, tlsReason(invalid)),
			"ask the instance's admins to renew or fix the certificate")
	case errors.As(err, &recordErr):
		return fail(fmt.Sprintf("cannot reach %s: the server does not speak TLS on %s", base, u.Host),
			"use http:// instead of https://, or the port where GitLab serves HTTPS")
	case errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		return fail(fmt.Sprintf("cannot reach %s: no answer within %s", base, timeout),
			"check the network path to the instance (firewall, proxy settings HTTPS_PROXY/NO_PROXY, VPN); if it is merely slow, raise --timeout")
	case errors.Is(err, syscall.ECONNRESET):
		return fail(fmt.Sprintf("cannot reach %s: the connection was reset", base),
			"check proxies and firewalls between this machine and the instance")
	}
	return fail(fmt.Sprintf("cannot reach %s: %s", base, plainError(err)), "check --url / GITLAB_URL and the network path to the instance")
}

// apiAnswer reads an answer of GitLab's API: JSON, by its content type
// and its body. got names what came instead.
func apiAnswer(resp *http.Response) (got string, ok bool) {
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return mt, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case err == nil && len(body) == 0:
		return "an empty answer", false // as the client names it (gitlab/transport.go)
	case err != nil || !json.Valid(body):
		return "broken JSON", false
	}
	return "", true
}

func tlsReason(e x509.CertificateInvalidError) string {
	if e.Reason == x509.Expired {
		return "expired or not yet valid"
	}
	return e.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// plainError drops Go's "Get \"URL\": " wrapping, which repeats the URL.
func plainError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return strings.TrimSpace(ue.Err.Error())
	}
	return err.Error()
}
