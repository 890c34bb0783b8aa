// Package kubetest runs a real Kubernetes API server for tests: Debian's
// etcd and a kube-apiserver built from the Go module proxy by
// scripts/build-kube-apiserver.sh into a cache directory outside the
// repository. One server is shared by a test binary (Start starts it once;
// Main stops it when the tests end); each test takes a fresh namespace.
//
// Without etcd or the kube-apiserver binary the test is skipped, unless
// CI=true: CI must run it.
//
// Two identities authenticate with static bearer tokens: Admin, in
// system:masters, and Limited, which RBAC allows nothing until a test binds
// it a Role.
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"gitlab.com/tokenwarden/tokenwarden/internal/testenv"
)

// Version is the kube-apiserver the tests run.
const Version = "v1.37.2"

// EnvBinary overrides where the kube-apiserver binary is.
const EnvBinary = "TOKENWARDEN_KUBE_APISERVER"

// Identities in the token file.
const (
	Admin   = "admin"   // group system:masters
	Limited = "limited" // no permissions unless a test grants some
)

// Binary is where scripts/build-kube-apiserver.sh puts kube-apiserver.
func Binary() string {
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "tokenwarden", "kube-apiserver-"+Version)
}

// Cluster is a running API server.
type Cluster struct {
	URL        string // https://127.0.0.1:PORT
	Kubeconfig string // a kubeconfig file with contexts admin (current) and limited
	Client     kubernetes.Interface

	dir   string
	procs []*exec.Cmd
	n     int
	mu    sync.Mutex
}

var (
	once    sync.Once
	shared  *Cluster
	failure error
	skip    string
)

// Start returns the shared cluster, starting it on first use. It skips t
// when etcd or kube-apiserver is missing (fails it when CI=true).
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, missing, err := Shared()
	switch {
	case err != nil:
		t.Fatalf("kubetest: %v", err)
	case missing != "":
		t.Skip(missing)
	}
	return c
}

// Shared starts the shared cluster on first use and returns it. When etcd
// or kube-apiserver is missing it returns why in missing (and, with
// CI=true, an error instead: CI must run the Kubernetes tests).
func Shared() (c *Cluster, missing string, err error) {
	once.Do(func() { shared, skip, failure = start() })
	if skip != "" {
		const how = "apt-get install etcd-server; scripts/build-kube-apiserver.sh"
		if testenv.InCI() {
			return nil, "", fmt.Errorf("CI=true but %s: the Kubernetes tests must run in CI (%s)", skip, how)
		}
		return nil, skip + " (" + how + ")", nil
	}
	return shared, "", failure
}

// Main runs the tests and stops the shared cluster afterwards: call it
// from TestMain, or wrap m for testscript.Main.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	Stop()
	return code
}

// M wraps m so that its Run stops the shared cluster when the tests end.
type M struct{ M interface{ Run() int } }

func (w M) Run() int { return Main(w.M) }

// Stop ends the shared cluster's processes and removes its files.
func Stop() {
	if shared == nil {
		return
	}
	for i := len(shared.procs) - 1; i >= 0; i-- {
		p := shared.procs[i]
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	_ = os.RemoveAll(shared.dir)
	shared = nil
}

func start() (*Cluster, string, error) {
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		return nil, "no etcd on $PATH", nil
	}
	apiserver := Binary()
	if _, err := os.Stat(apiserver); err != nil {
		return nil, "no kube-apiserver at " + apiserver, nil
	}
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, "", err
	}
	c := &Cluster{dir: dir}
	ok := false
	defer func() {
		if !ok {
			shared = c
			Stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, "", err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	if err := c.run(etcd, "etcd.log",
		"--name=kubetest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL, "--log-level=error",
	); err != nil {
		return nil, "", err
	}
	if err := c.waitHTTP(etcdURL+"/health", nil, "etcd.log"); err != nil {
		return nil, "", err
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, "", err
	}
	tokens := map[string]string{Admin: randHex(), Limited: randHex()}
	files := map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": fmt.Appendf(nil, "%s,%s,1,\"system:masters\"\n%s,%s,2\n", tokens[Admin], Admin, tokens[Limited], Limited),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, "", err
		}
	}
	c.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	certs := filepath.Join(dir, "certs")
	if err := c.run(apiserver, "kube-apiserver.log",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--secure-port="+strconv.Itoa(ports[2]), "--cert-dir="+certs,
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/24",
		"--enable-priority-and-fairness=false",
	); err != nil {
		return nil, "", err
	}
	if err := c.waitHTTP(c.URL+"/readyz", map[string]string{"Authorization": "Bearer " + tokens[Admin]}, "kube-apiserver.log"); err != nil {
		return nil, "", err
	}

	// The server made its own CA in cert-dir; the kubeconfig trusts it.
	ca, err := os.ReadFile(filepath.Join(certs, "apiserver.crt"))
	if err != nil {
		return nil, "", err
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig(c.URL, ca, tokens), 0o600); err != nil {
		return nil, "", err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return nil, "", err
	}
	if c.Client, err = kubernetes.NewForConfig(rc); err != nil {
		return nil, "", err
	}
	ok = true
	return c, "", nil
}

// kubeconfig has one cluster and a context per identity.
func kubeconfig(server string, ca []byte, tokens map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\ncurrent-context: %s\nclusters:\n- name: kubetest\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n",
		Admin, server, b64(ca))
	b.WriteString("contexts:\n")
	for _, u := range []string{Admin, Limited} {
		fmt.Fprintf(&b, "- name: %s\n  context: {cluster: kubetest, user: %s}\n", u, u)
	}
	b.WriteString("users:\n")
	for _, u := range []string{Admin, Limited} {
		fmt.Fprintf(&b, "- name: %s\n  user: {token: %s}\n", u, tokens[u])
	}
	return b.Bytes()
}

// run starts a server process, its output in the file log; it dies with
// the test binary.
func (c *Cluster) run(bin, log string, args ...string) error {
	f, err := os.Create(filepath.Join(c.dir, log))
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	c.procs = append(c.procs, cmd)
	return nil
}

// waitHTTP waits (at most a minute) until url answers 200.
func (c *Cluster) waitHTTP(url string, header map[string]string, log string) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // only to poll readiness
	deadline := time.Now().Add(time.Minute)
	last := errors.New("no answer")
	for time.Now().Before(deadline) {
		for _, p := range c.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("%s exited: %s", p.Path, c.tail(log))
			}
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := hc.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(res.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after a minute (%v): %s", url, last, c.tail(log))
}

func (c *Cluster) tail(log string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, log))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Namespace creates a fresh namespace for one test.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name, err := c.NewNamespace()
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return name
}

// NewNamespace creates a fresh namespace and returns its name.
func (c *Cluster) NewNamespace() (string, error) {
	c.mu.Lock()
	c.n++
	name := fmt.Sprintf("t%d-%s", c.n, randHex()[:6])
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create namespace: %w", err)
	}
	return name, nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
