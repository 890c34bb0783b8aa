package kubesecret_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"gitlab.com/tokenwarden/tokenwarden/internal/kubetest"
	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/kubesecret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink/sinktest"
)

// One API server for the whole test binary.
func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

const (
	owner = "platform/app:deploy"
	tok   = "glpat-AAAAAAAAAAAAAAAAAAAA"
	tok2  = "glpat-BBBBBBBBBBBBBBBBBBBB"
)

var names atomic.Int64

func newName() string { return fmt.Sprintf("s%d", names.Add(1)) }

// newSink builds a sink for cfg on the test cluster, admin unless cfg names a context.
func newSink(t *testing.T, c *kubetest.Cluster, cfg kubesecret.Config) *kubesecret.Sink {
	t.Helper()
	if cfg.Kubeconfig == "" {
		cfg.Kubeconfig = c.Kubeconfig
	}
	s, err := kubesecret.New(cfg, owner, "https://gitlab.example.com")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func getSecret(t *testing.T, c *kubetest.Cluster, ns, name string) *corev1.Secret {
	t.Helper()
	sec, err := c.Client.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func createSecret(t *testing.T, c *kubetest.Cluster, sec *corev1.Secret) {
	t.Helper()
	if _, err := c.Client.CoreV1().Secrets(sec.Namespace).Create(context.Background(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	// breakWrites makes the Secret immutable, so that the API server refuses
	// every write; restore recreates it as it was, mutable.
	breakWrites := func(t *testing.T, s sink.Sink) func() {
		name := strings.TrimPrefix(strings.SplitN(s.ID(), "#", 2)[0], "kubernetes_secret:"+ns+"/")
		secrets := c.Client.CoreV1().Secrets(ns)
		before := getSecret(t, c, ns, name)
		immutable := true
		broken := before.DeepCopy()
		broken.Immutable = &immutable
		if _, err := secrets.Update(context.Background(), broken, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := secrets.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			again := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: before.Labels, Annotations: before.Annotations},
				Type: before.Type, Data: before.Data}
			createSecret(t, c, again)
		}
	}
	for name, cfg := range map[string]kubesecret.Config{
		"opaque":              {Format: kubesecret.FormatOpaque},
		"opaque several keys": {Format: kubesecret.FormatOpaque, Keys: []string{"GITLAB_TOKEN", "token"}, UsernameKey: "user", PasswordKey: "pass"},
		"dockerconfigjson":    {Format: kubesecret.FormatDockerConfigJSON},
		"argocd-repository":   {Format: kubesecret.FormatArgoCDRepository, URL: "https://gitlab.example.com/platform/app.git"},
		"flux-basic-auth":     {Format: kubesecret.FormatFluxBasicAuth, Username: "flux"},
	} {
		t.Run(name, func(t *testing.T) {
			fresh := func(t *testing.T) sink.Sink {
				cfg := cfg
				cfg.Namespace, cfg.Name = ns, newName()
				return newSink(t, c, cfg)
			}
			opts := sinktest.Options{Readable: true, Comparable: true, BreakNextPut: breakWrites}
			if cfg.Format != kubesecret.FormatOpaque || cfg.UsernameKey != "" {
				// A token's own username (a deploy token's) takes the
				// place of the configured one.
				opts.NewTwoValue, opts.DefaultUsername = fresh, cmp.Or(cfg.Username, kubesecret.DefaultUsername)
			}
			sinktest.Run(t, fresh, opts)
		})
	}
}

// The formats put the token where Argo CD, Flux, the kubelet and a pod
// read it; the labels and annotations configured, and the markers.
func TestFormats(t *testing.T) {
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	auth := base64.StdEncoding.EncodeToString([]byte("oauth2:" + tok))
	for _, tt := range []struct {
		name       string
		cfg        kubesecret.Config
		wantType   corev1.SecretType
		wantData   map[string]string
		wantLabels map[string]string
	}{
		{"opaque default key", kubesecret.Config{}, corev1.SecretTypeOpaque, map[string]string{"token": tok}, nil},
		{"opaque username and password", kubesecret.Config{UsernameKey: "user", PasswordKey: "pass", Username: "project_7_bot"},
			corev1.SecretTypeOpaque, map[string]string{"user": "project_7_bot", "pass": tok}, nil},
		{"basic-auth type", kubesecret.Config{UsernameKey: "username", PasswordKey: "password", Type: "kubernetes.io/basic-auth"},
			corev1.SecretTypeBasicAuth, map[string]string{"username": "oauth2", "password": tok}, nil},
		{"dockerconfigjson registry from the GitLab URL", kubesecret.Config{Format: kubesecret.FormatDockerConfigJSON}, corev1.SecretTypeDockerConfigJson,
			map[string]string{".dockerconfigjson": `{"auths":{"registry.gitlab.example.com":{"username":"oauth2","password":"` + tok + `","auth":"` + auth + `"}}}`}, nil},
		{"dockerconfigjson registry configured", kubesecret.Config{Format: kubesecret.FormatDockerConfigJSON, Registry: "https://gitlab.example.com:5050/"}, corev1.SecretTypeDockerConfigJson,
			map[string]string{".dockerconfigjson": `{"auths":{"gitlab.example.com:5050":{"username":"oauth2","password":"` + tok + `","auth":"` + auth + `"}}}`}, nil},
		{"argocd repository", kubesecret.Config{Format: kubesecret.FormatArgoCDRepository, URL: "https://gitlab.example.com/platform/app.git", Labels: map[string]string{"team": "platform"}},
			corev1.SecretTypeOpaque, map[string]string{"url": "https://gitlab.example.com/platform/app.git", "username": "oauth2", "password": tok},
			map[string]string{"argocd.argoproj.io/secret-type": "repository", "team": "platform"}},
		{"flux basic auth", kubesecret.Config{Format: kubesecret.FormatFluxBasicAuth}, corev1.SecretTypeOpaque,
			map[string]string{"username": "oauth2", "password": tok}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Namespace, tt.cfg.Name = ns, newName()
			tt.cfg.Annotations = map[string]string{"example.com/note": "rotated by tokenwarden"}
			s := newSink(t, c, tt.cfg)
			if changed, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok))); err != nil || !changed {
				t.Fatalf("Put = %v, %v", changed, err)
			}
			sec := getSecret(t, c, ns, tt.cfg.Name)
			if sec.Type != tt.wantType {
				t.Errorf("type %s, want %s", sec.Type, tt.wantType)
			}
			got := map[string]string{}
			for k, v := range sec.Data {
				got[k] = string(v)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantData) {
				t.Errorf("data\n%v\nwant\n%v", got, tt.wantData)
			}
			wantLabels := map[string]string{kubesecret.LabelManagedBy: "tokenwarden"}
			for k, v := range tt.wantLabels {
				wantLabels[k] = v
			}
			if fmt.Sprint(sec.Labels) != fmt.Sprint(wantLabels) {
				t.Errorf("labels %v, want %v", sec.Labels, wantLabels)
			}
			if sec.Annotations[kubesecret.AnnotationOwner] != owner || sec.Annotations["example.com/note"] != "rotated by tokenwarden" {
				t.Errorf("annotations %v", sec.Annotations)
			}
			if v, err := s.Get(context.Background()); err != nil || v.Token.Reveal() != tok {
				t.Errorf("Get = %s, %v", v.Token.Hint(), err)
			}
		})
	}
}

// A Secret that exists keeps everyone else's keys, labels, annotations and
// other registries' entries; a second Put of the same value writes nothing.
func TestKeepsOthersAndComparesFirst(t *testing.T) {
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	other := `{"auths":{"ghcr.io":{"auth":"b3RoZXI6c2VjcmV0"},"registry.gitlab.example.com":{"auth":"b2xkOm9sZA=="}},"credsStore":"none"}`
	for _, tt := range []struct {
		name     string
		cfg      kubesecret.Config
		typ      corev1.SecretType
		data     map[string]string
		wantKept func(t *testing.T, sec *corev1.Secret)
	}{
		{"opaque", kubesecret.Config{Key: "GITLAB_TOKEN"}, corev1.SecretTypeOpaque, map[string]string{"GITLAB_TOKEN": "old", "DB_PASSWORD": "hunter2"},
			func(t *testing.T, sec *corev1.Secret) {
				if string(sec.Data["DB_PASSWORD"]) != "hunter2" || string(sec.Data["GITLAB_TOKEN"]) != tok {
					t.Errorf("data %q", sec.Data)
				}
			}},
		{"dockerconfigjson", kubesecret.Config{Format: kubesecret.FormatDockerConfigJSON}, corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": other},
			func(t *testing.T, sec *corev1.Secret) {
				var doc struct {
					Auths      map[string]map[string]string `json:"auths"`
					CredsStore string                       `json:"credsStore"`
				}
				if err := json.Unmarshal(sec.Data[".dockerconfigjson"], &doc); err != nil {
					t.Fatal(err)
				}
				if doc.Auths["ghcr.io"]["auth"] != "b3RoZXI6c2VjcmV0" || doc.CredsStore != "none" || doc.Auths["registry.gitlab.example.com"]["password"] != tok {
					t.Errorf(".dockerconfigjson %s", sec.Data[".dockerconfigjson"])
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := newName()
			data := map[string][]byte{}
			for k, v := range tt.data {
				data[k] = []byte(v)
			}
			createSecret(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
				Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"owner": "team-web"}}, Type: tt.typ, Data: data})
			tt.cfg.Namespace, tt.cfg.Name = ns, name
			s := newSink(t, c, tt.cfg)
			if changed, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok))); err != nil || !changed {
				t.Fatalf("Put = %v, %v", changed, err)
			}
			sec := getSecret(t, c, ns, name)
			tt.wantKept(t, sec)
			if sec.Labels["app"] != "web" || sec.Annotations["owner"] != "team-web" {
				t.Errorf("labels %v annotations %v: others' were not kept", sec.Labels, sec.Annotations)
			}
			rv := sec.ResourceVersion
			if changed, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok))); err != nil || changed {
				t.Fatalf("second Put = %v, %v; want no write", changed, err)
			}
			if now := getSecret(t, c, ns, name).ResourceVersion; now != rv {
				t.Errorf("the second Put wrote: resourceVersion %s → %s", rv, now)
			}
		})
	}
}

// Two sinks (two processes, say) write their own keys of one Secret at the
// same time: each write is conditional on what it read, so neither loses
// the other's key.
func TestConcurrentWritersKeepEachOthersKeys(t *testing.T) {
	c := kubetest.Start(t)
	ns, name := c.Namespace(t), newName()
	a := newSink(t, c, kubesecret.Config{Namespace: ns, Name: name, Key: "A"})
	b := newSink(t, c, kubesecret.Config{Namespace: ns, Name: name, Key: "B"})
	var wg sync.WaitGroup
	const rounds = 15
	errs := make(chan error, 2*rounds)
	for _, s := range []*kubesecret.Sink{a, b} {
		wg.Go(func() {
			for i := range rounds {
				if _, err := s.Put(context.Background(), secret.TokenOnly(secret.New(fmt.Sprintf("glpat-%s-%02dxxxxxxxxxxxx", s.ID()[len(s.ID())-1:], i)))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sec := getSecret(t, c, ns, name)
	if string(sec.Data["A"]) != "glpat-A-14xxxxxxxxxxxx" || string(sec.Data["B"]) != "glpat-B-14xxxxxxxxxxxx" {
		t.Errorf("after concurrent writes: A=%q B=%q; want each sink's last value", sec.Data["A"], sec.Data["B"])
	}
}

// A write that races with someone else's is refused by the API server
// (resourceVersion) and retried after a re-read, keeping what they wrote:
// a proxy in front of the API server lets another client change the Secret
// between the sink's read and its first write.
func TestConflictIsRetriedAfterReread(t *testing.T) {
	c := kubetest.Start(t)
	ns, name := c.Namespace(t), newName()
	createSecret(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{"token": []byte("glpat-previousprevious")}})
	target, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	var puts atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a test proxy to the test server
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/secrets/"+name) && puts.Add(1) == 1 {
			sec := getSecret(t, c, ns, name)
			sec.Data["other"] = []byte("written in between")
			if _, err := c.Client.CoreV1().Secrets(ns).Update(context.Background(), sec, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	kc, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range kc.Clusters {
		cl.Server, cl.CertificateAuthorityData, cl.InsecureSkipTLSVerify = srv.URL, nil, true
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, c, kubesecret.Config{Namespace: ns, Name: name, Kubeconfig: path})
	if changed, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok))); err != nil || !changed {
		t.Fatalf("Put = %v, %v", changed, err)
	}
	sec := getSecret(t, c, ns, name)
	if string(sec.Data["token"]) != tok || string(sec.Data["other"]) != "written in between" {
		t.Errorf("data %q: want the token and the key written in between", sec.Data)
	}
	if n := puts.Load(); n != 2 {
		t.Errorf("%d writes, want 2: one refused with a conflict, one after the re-read", n)
	}
}

func TestRefusesSecretsManagedElsewhere(t *testing.T) {
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	yes := true
	for _, tt := range []struct {
		name     string
		meta     metav1.ObjectMeta
		takeOver bool
		want     string // "" → written
		wantHint string
	}{
		{"helm label", metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"}}, false,
			"managed by another tool (label app.kubernetes.io/managed-by=Helm)", "take_over: true"},
		{"annotation", metav1.ObjectMeta{Annotations: map[string]string{"example.com/managed-by": "vault-secrets-operator"}}, false,
			"annotation example.com/managed-by=vault-secrets-operator", "take_over: true"},
		{"controller owner", metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "external-secret", UID: "0b4b8a1c-5b3e-4d5e-8b43-0d3c6a1e9f11", Controller: &yes}}}, false,
			"controller ConfigMap external-secret", "take_over: true"},
		{"helm label, take_over", metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"}}, true, "", ""},
		{"another token", metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/managed-by": "tokenwarden"}, Annotations: map[string]string{kubesecret.AnnotationOwner: "other:tok"}}, true,
			"managed by tokenwarden for other:tok, not for " + owner, "deliver each token to its own Secret"},
		{"unmarked Secret is adopted", metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, false, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.meta.Name, tt.meta.Namespace = newName(), ns
			createSecret(t, c, &corev1.Secret{ObjectMeta: tt.meta, Data: map[string][]byte{"token": []byte("glpat-previousprevious")}})
			s := newSink(t, c, kubesecret.Config{Namespace: ns, Name: tt.meta.Name, TakeOver: tt.takeOver})
			changed, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok)))
			got := string(getSecret(t, c, ns, tt.meta.Name).Data["token"])
			if tt.want == "" {
				if err != nil || !changed || got != tok {
					t.Fatalf("Put = %v, %v; Secret holds %q", changed, err, got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(problem.Hint(err), tt.wantHint) {
				t.Fatalf("Put: %v (hint %q), want %q and hint %q", err, problem.Hint(err), tt.want, tt.wantHint)
			}
			if changed || got != "glpat-previousprevious" {
				t.Errorf("refused Put changed the Secret: %v, %q", changed, got)
			}
		})
	}
}

// RBAC: an identity with a Role that allows only get, update and patch on
// one named Secret rotates into that Secret, and is refused on every other
// one with an error that names what is missing.
func TestRBACOneNamedSecret(t *testing.T) {
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	createSecret(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "app-gitlab", Namespace: ns}, Data: map[string][]byte{"other": []byte("kept")}})
	createSecret(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns}, Data: map[string][]byte{"password": []byte("hunter2")}})
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "tokenwarden", Namespace: ns}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"app-gitlab"}, Verbs: []string{"get", "update", "patch"}}}}
	if _, err := c.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tokenwarden", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tokenwarden"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: kubetest.Limited}}}
	if _, err := c.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	limited := func(name string) *kubesecret.Sink {
		return newSink(t, c, kubesecret.Config{Namespace: ns, Name: name, Context: kubetest.Limited, Kubeconfig: c.Kubeconfig})
	}
	// The API server's RBAC cache learns of the binding asynchronously:
	// wait (with a deadline) until the first Put goes through.
	s := limited("app-gitlab")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Put(ctx, secret.TokenOnly(secret.New(tok)))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Put into the Secret the Role names: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if changed, err := s.Put(ctx, secret.TokenOnly(secret.New(tok2))); err != nil || !changed {
		t.Fatalf("rotation into the Secret the Role names: %v, %v", changed, err)
	}
	if v, err := s.Get(ctx); err != nil || v.Token.Reveal() != tok2 {
		t.Fatalf("Get = %s, %v", v.Token.Hint(), err)
	}
	if sec := getSecret(t, c, ns, "app-gitlab"); string(sec.Data["other"]) != "kept" {
		t.Errorf("data %q", sec.Data)
	}
	for _, name := range []string{"db", "missing"} {
		_, err := limited(name).Put(ctx, secret.TokenOnly(secret.New(tok)))
		want := fmt.Sprintf(`forbidden: the identity may not get secrets in namespace %s (secrets %q is forbidden: User "limited" cannot get resource "secrets"`, ns, name)
		wantHint := fmt.Sprintf("RBAC: a Role in namespace %s must allow verbs get, update and patch on resource secrets, resourceNames [%s]", ns, name)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(problem.Hint(err), wantHint) {
			t.Errorf("Put into %s: %v\nhint %q\nwant %q\nhint %q", name, err, problem.Hint(err), want, wantHint)
		}
	}
	if sec := getSecret(t, c, ns, "db"); string(sec.Data["password"]) != "hunter2" || len(sec.Data) != 1 {
		t.Errorf("the refused Secret changed: %q", sec.Data)
	}
}

func TestErrorsExplainThemselves(t *testing.T) {
	c := kubetest.Start(t)
	// A kubeconfig whose server does not answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	kc, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	unreachable := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(unreachable, []byte(strings.Replace(string(kc), strings.TrimPrefix(c.URL, "https://"), closed, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		cfg      kubesecret.Config
		want     string
		wantHint string
	}{
		{"namespace not found", kubesecret.Config{Namespace: "nope", Name: "x"}, "Kubernetes Secret nope/x (key token): create: namespace nope not found", "check namespace: on this sink, or create the namespace"},
		{"unreachable", kubesecret.Config{Namespace: "default", Name: "x", Kubeconfig: unreachable}, "connection refused", "check that the API server is reachable"},
		{"no kubeconfig", kubesecret.Config{Namespace: "default", Name: "x", Kubeconfig: filepath.Join(t.TempDir(), "none")}, "kubeconfig", "set kubeconfig: and context: on this sink"},
		{"unknown context", kubesecret.Config{Namespace: "default", Name: "x", Context: "prod"}, `context "prod" does not exist`, "set kubeconfig: and context: on this sink"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t, c, tt.cfg)
			_, err := s.Put(context.Background(), secret.TokenOnly(secret.New(tok)))
			if err == nil || !strings.HasPrefix(err.Error(), "sink kubernetes-secret: ") || !strings.Contains(err.Error(), tt.want) || !strings.Contains(problem.Hint(err), tt.wantHint) {
				t.Fatalf("Put: %v (hint %q), want %q and hint %q", err, problem.Hint(err), tt.want, tt.wantHint)
			}
			if strings.Contains(err.Error(), tok) {
				t.Errorf("error leaks the secret: %q", err)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  kubesecret.Config
		want string
	}{
		{"no namespace", kubesecret.Config{Name: "x"}, "namespace is required"},
		{"no name", kubesecret.Config{Namespace: "x"}, "name is required"},
		{"bad name", kubesecret.Config{Namespace: "x", Name: "App_Token"}, `invalid name "App_Token"`},
		{"bad namespace", kubesecret.Config{Namespace: "a.b", Name: "x"}, `invalid namespace "a.b"`},
		{"unknown format", kubesecret.Config{Namespace: "x", Name: "x", Format: "vault"}, `unknown format "vault"`},
		{"bad key", kubesecret.Config{Namespace: "x", Name: "x", Key: "a/b"}, `invalid key "a/b"`},
		{"same key twice", kubesecret.Config{Namespace: "x", Name: "x", Key: "t", Keys: []string{"t"}}, `key "t" is named twice`},
		{"username_key alone", kubesecret.Config{Namespace: "x", Name: "x", Key: "t", UsernameKey: "u"}, "username_key needs password_key"},
		{"keys on a fixed format", kubesecret.Config{Namespace: "x", Name: "x", Format: "flux-basic-auth", Key: "t"}, "key is only for format opaque"},
		{"argocd without url", kubesecret.Config{Namespace: "x", Name: "x", Format: "argocd-repository"}, "url is required"},
		{"url with credentials", kubesecret.Config{Namespace: "x", Name: "x", Format: "argocd-repository", URL: "https://u:p@gitlab.example.com/a.git"}, "invalid url"},
		{"registry on opaque", kubesecret.Config{Namespace: "x", Name: "x", Registry: "r.example.com"}, "registry is only for format dockerconfigjson"},
		{"dockerconfigjson with another type", kubesecret.Config{Namespace: "x", Name: "x", Format: "dockerconfigjson", Type: "Opaque"}, "needs type kubernetes.io/dockerconfigjson"},
		{"reserved label", kubesecret.Config{Namespace: "x", Name: "x", Labels: map[string]string{"app.kubernetes.io/managed-by": "me"}}, "is reserved"},
		{"bad label value", kubesecret.Config{Namespace: "x", Name: "x", Labels: map[string]string{"team": "a b"}}, `invalid value of label "team"`},
		{"username with a colon", kubesecret.Config{Namespace: "x", Name: "x", Format: "flux-basic-auth", Username: "a:b"}, "invalid username"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kubesecret.New(tt.cfg, owner, "https://gitlab.example.com")
			if err == nil || !strings.Contains(err.Error(), tt.want) || problem.Hint(err) == "" {
				t.Fatalf("New: %v (hint %q), want %q with a hint", err, problem.Hint(err), tt.want)
			}
		})
	}
	if _, err := kubesecret.New(kubesecret.Config{Namespace: "x", Name: "x", Format: "dockerconfigjson"}, owner, ""); err == nil || !strings.Contains(problem.Hint(err), "set registry:") {
		t.Errorf("dockerconfigjson without GitLab URL or registry: %v", err)
	}
}
