// Package kubesecret is the sink that delivers a secret into a Kubernetes
// Secret through the API server (client-go): an opaque Secret's keys, an
// image pull secret (.dockerconfigjson), Argo CD repository credentials or
// a Flux basic-auth Secret.
//
// It changes only its own keys and keeps everyone else's keys, labels and
// annotations; it compares before it writes; every write is conditional on
// the resourceVersion it read, and a conflict is retried after a re-read. A
// Secret managed by another tool (a managed-by label or annotation, a
// controller owner reference) is refused unless the config says take_over,
// and one managed for another token is always refused. Secret data never
// reaches a log or an error.
package kubesecret

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// Markers tokenwarden sets on the Secrets it writes.
const (
	// LabelManagedBy is the well-known label naming the tool that manages
	// an object; tokenwarden sets it to ManagedBy.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "tokenwarden"
	// AnnotationOwner names the managed token a Secret belongs to, so two
	// tokens never fight over one Secret.
	AnnotationOwner = "tokenwarden/owner"

	labelArgoCDSecretType = "argocd.argoproj.io/secret-type"
)

const kind = "kubernetes-secret"

// requestTimeout bounds each API request.
const requestTimeout = 30 * time.Second

// conflictBackoff spaces the re-reads after a conflicting write.
var conflictBackoff = wait.Backoff{Steps: 12, Duration: 10 * time.Millisecond, Factor: 1.6, Jitter: 0.5, Cap: time.Second}

// Sink is one Secret in one namespace of one cluster.
type Sink struct {
	cfg      Config
	owner    string
	registry string // dockerconfigjson: the auths entry's host

	mu      sync.Mutex // guards secrets
	secrets secretsClient
}

var _ sink.Sink = (*Sink)(nil)

// New validates cfg. owner is the managed token's reference, recorded on
// the Secret; gitlabURL gives the default registry host of an image pull
// secret. No connection is made before the first Get or Put.
func New(cfg Config, owner, gitlabURL string) (*Sink, error) {
	cfg.Complete()
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fail(ps[0], ps[0].Hint)
	}
	if owner == "" {
		return nil, fail(errors.New("no owner reference"), "")
	}
	s := &Sink{cfg: cfg, owner: owner, registry: cfg.Registry}
	if cfg.Format == FormatDockerConfigJSON && s.registry == "" {
		u, err := url.Parse(gitlabURL)
		if gitlabURL == "" || err != nil || u.Hostname() == "" {
			return nil, fail(errors.New("no registry host"), "set registry: the container registry's host, e.g. registry.gitlab.example.com")
		}
		s.registry = "registry." + u.Hostname()
	}
	return s, nil
}

// ID is "kubernetes_secret:[<context>:]<namespace>/<name>#<what>", where
// what is the opaque keys or the format (and registry).
func (s *Sink) ID() string {
	id := "kubernetes_secret:"
	if s.cfg.Context != "" {
		id += s.cfg.Context + ":"
	}
	id += s.cfg.Namespace + "/" + s.cfg.Name + "#"
	switch s.cfg.Format {
	case FormatOpaque:
		return id + strings.Join(s.cfg.ownKeys(), ",")
	case FormatDockerConfigJSON:
		return id + s.cfg.Format + ":" + s.registry
	}
	return id + s.cfg.Format
}

// Describe names the Secret for humans.
func (s *Sink) Describe() string {
	what := s.cfg.Format
	switch s.cfg.Format {
	case FormatOpaque:
		what = "keys " + strings.Join(s.cfg.ownKeys(), ", ")
		if len(s.cfg.ownKeys()) == 1 {
			what = "key " + s.cfg.ownKeys()[0]
		}
	case FormatDockerConfigJSON:
		what = "image pull secret for " + s.registry
	}
	d := fmt.Sprintf("Kubernetes Secret %s/%s (%s", s.cfg.Namespace, s.cfg.Name, what)
	if s.cfg.Context != "" {
		d += ", context " + s.cfg.Context
	}
	return d + ")"
}

// client connects on first use: the kubeconfig (and context) configured,
// else the pod's service account, else $KUBECONFIG or ~/.kube/config.
func (s *Sink) client() (secretsClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets.r != nil {
		return s.secrets, nil
	}
	rc, err := s.restConfig()
	if err != nil {
		where := "$KUBECONFIG or ~/.kube/config"
		if s.cfg.Kubeconfig != "" {
			where = s.cfg.Kubeconfig
		}
		return secretsClient{}, &sink.Error{Kind: kind, Err: fmt.Errorf("%s: kubeconfig: %w", s.Describe(), err),
			Hint: fmt.Sprintf("check %s (and context); set kubeconfig: and context: on this sink, or run tokenwarden in the cluster with a service account", where)}
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "tokenwarden"
	rc.Timeout = requestTimeout
	rc.WarningHandler = rest.NoWarnings{}
	rc.QPS, rc.Burst = 20, 40 // a rotation makes a handful of requests per Secret
	// The dynamic client, not the typed one: a typed client's scheme
	// registers every API group, 20 MB more in the binary.
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return secretsClient{}, &sink.Error{Kind: kind, Err: fmt.Errorf("%s: %w", s.Describe(), err)}
	}
	s.secrets = secretsClient{r: dc.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(s.cfg.Namespace)}
	return s.secrets, nil
}

func (s *Sink) restConfig() (*rest.Config, error) {
	if s.cfg.Kubeconfig == "" && s.cfg.Context == "" {
		rc, err := rest.InClusterConfig()
		if err == nil {
			return rc, nil
		}
		if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, err
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if s.cfg.Kubeconfig != "" {
		rules.ExplicitPath = s.cfg.Kubeconfig
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: s.cfg.Context}).ClientConfig()
}

// Get reads the token back. ErrNotFound when the Secret or its key is
// missing, or when the Secret does not hold what Put would write for the
// token it holds (keys that disagree, another username or URL): then a
// delivery puts it right.
func (s *Sink) Get(ctx context.Context) (secret.Credential, error) {
	secrets, err := s.client()
	if err != nil {
		return secret.Credential{}, err
	}
	cur, err := secrets.Get(ctx, s.cfg.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !namespaceMissing(err) {
		return secret.Credential{}, s.wrap(sink.ErrNotFound)
	}
	if err != nil {
		return secret.Credential{}, s.apiError("get", err)
	}
	v, err := s.credential(cur)
	if err != nil {
		return secret.Credential{}, err
	}
	want, err := s.apply(cur.DeepCopy(), v)
	if err != nil {
		return secret.Credential{}, err
	}
	for _, k := range s.cfg.ownKeys() {
		if !bytes.Equal(cur.Data[k], want.Data[k]) {
			return secret.Credential{}, s.wrap(fmt.Errorf("key %s does not match the token the Secret holds: %w", k, sink.ErrNotFound))
		}
	}
	return v, nil
}

// credential is the token cur holds, by format, and the username next to
// it where the format has one ("" where it has none).
func (s *Sink) credential(cur *corev1.Secret) (secret.Credential, error) {
	key, userKey := "password", "username"
	switch s.cfg.Format {
	case FormatOpaque:
		key, userKey = s.cfg.tokenKeys()[0], s.cfg.UsernameKey
	case FormatDockerConfigJSON:
		cfg, err := s.dockerConfig(cur)
		if err != nil {
			return secret.Credential{}, err
		}
		var e dockerAuth
		if raw, ok := cfg.auths[s.registry]; !ok || json.Unmarshal(raw, &e) != nil || e.Password == "" {
			return secret.Credential{}, s.wrap(fmt.Errorf("no auths entry for %s: %w", s.registry, sink.ErrNotFound))
		}
		return secret.Credential{Username: e.Username, Token: secret.New(e.Password)}, nil
	}
	v, ok := cur.Data[key]
	if !ok || len(v) == 0 {
		return secret.Credential{}, s.wrap(fmt.Errorf("no key %s: %w", key, sink.ErrNotFound))
	}
	c := secret.TokenOnly(secret.New(string(v)))
	if userKey != "" {
		c.Username = string(cur.Data[userKey])
	}
	return c, nil
}

// Put writes v unless the Secret already holds it with the configured
// labels and annotations; it creates the Secret when it is missing.
func (s *Sink) Put(ctx context.Context, v secret.Credential) (bool, error) {
	if v.IsZero() {
		return false, s.wrap(errors.New("refusing to write an empty secret"))
	}
	if err := ctx.Err(); err != nil {
		return false, s.wrap(err)
	}
	secrets, err := s.client()
	if err != nil {
		return false, err
	}
	changed, op := false, "get"
	retryable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err = retry.OnError(conflictBackoff, retryable, func() error {
		changed, op = false, "get"
		cur, err := secrets.Get(ctx, s.cfg.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && !namespaceMissing(err) {
			op = "create"
			want, err := s.apply(&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: s.cfg.Name, Namespace: s.cfg.Namespace},
				Type:       corev1.SecretType(s.cfg.Type),
			}, v)
			if err != nil {
				return err
			}
			if _, err := secrets.Create(ctx, want, metav1.CreateOptions{}); err != nil {
				return err // AlreadyExists: someone else created it; compare and update it
			}
			changed = true
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.mayWrite(cur); err != nil {
			return err
		}
		want, err := s.apply(cur.DeepCopy(), v)
		if err != nil {
			return err
		}
		if maps.EqualFunc(cur.Data, want.Data, bytes.Equal) && maps.Equal(cur.Labels, want.Labels) && maps.Equal(cur.Annotations, want.Annotations) {
			return nil
		}
		// want carries cur's resourceVersion: the API server refuses the
		// update with a conflict when the Secret changed since the read.
		op = "update"
		if _, err := secrets.Update(ctx, want, metav1.UpdateOptions{}); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		var se *sink.Error
		if errors.As(err, &se) {
			return false, err
		}
		return false, s.apiError(op, err, v.Token)
	}
	return changed, nil
}

// mayWrite refuses a Secret that someone else manages.
func (s *Sink) mayWrite(cur *corev1.Secret) error {
	if other, ok := cur.Annotations[AnnotationOwner]; ok && other != s.owner {
		return &sink.Error{Kind: kind,
			Err:  fmt.Errorf("%s is managed by tokenwarden for %s, not for %s; refusing to overwrite it", s.Describe(), other, s.owner),
			Hint: "deliver each token to its own Secret or keys: change the name, or remove the Secret from the other token's config and its " + AnnotationOwner + " annotation"}
	}
	if s.cfg.Type != string(cur.Type) {
		return &sink.Error{Kind: kind,
			Err:  fmt.Errorf("%s has type %s, not %s, and a Secret's type cannot change", s.Describe(), cur.Type, s.cfg.Type),
			Hint: fmt.Sprintf("set type: %s on this sink, or delete the Secret so that tokenwarden creates it", cur.Type)}
	}
	if s.cfg.TakeOver {
		return nil
	}
	var by []string
	for what, m := range map[string]map[string]string{"label": cur.Labels, "annotation": cur.Annotations} {
		for k, v := range m {
			if (k == "managed-by" || strings.HasSuffix(k, "/managed-by")) && v != ManagedBy {
				by = append(by, fmt.Sprintf("%s %s=%s", what, k, v))
			}
		}
	}
	for _, ref := range cur.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			by = append(by, fmt.Sprintf("controller %s %s", ref.Kind, ref.Name))
		}
	}
	if len(by) == 0 {
		return nil
	}
	slices.Sort(by)
	return &sink.Error{Kind: kind,
		Err:  fmt.Errorf("%s is managed by another tool (%s); refusing to write into it", s.Describe(), strings.Join(by, ", ")),
		Hint: "deliver to a Secret no other tool manages, or set take_over: true on this sink to let tokenwarden manage it"}
}

// apply sets the sink's own keys, labels and annotations on sec for v and
// returns it; everything else on sec stays. The username written next to
// the token is v's own when it has one (a deploy token works only with its
// username), else the configured one.
func (s *Sink) apply(sec *corev1.Secret, v secret.Credential) (*corev1.Secret, error) {
	if sec.Labels == nil {
		sec.Labels = map[string]string{}
	}
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	maps.Copy(sec.Labels, s.cfg.Labels)
	maps.Copy(sec.Annotations, s.cfg.Annotations)
	sec.Labels[LabelManagedBy] = ManagedBy
	sec.Annotations[AnnotationOwner] = s.owner
	username := cmp.Or(v.Username, s.cfg.Username)
	tok, user := []byte(v.Token.Reveal()), []byte(username)
	switch s.cfg.Format {
	case FormatOpaque:
		for _, k := range s.cfg.tokenKeys() {
			sec.Data[k] = tok
		}
		if s.cfg.UsernameKey != "" {
			sec.Data[s.cfg.UsernameKey] = user
		}
	case FormatArgoCDRepository:
		sec.Labels[labelArgoCDSecretType] = "repository"
		sec.Data["url"], sec.Data["username"], sec.Data["password"] = []byte(s.cfg.URL), user, tok
	case FormatFluxBasicAuth:
		sec.Data["username"], sec.Data["password"] = user, tok
	case FormatDockerConfigJSON:
		cfg, err := s.dockerConfig(sec)
		if err != nil {
			return nil, err
		}
		want := dockerAuth{Username: username, Password: v.Token.Reveal(),
			Auth: base64.StdEncoding.EncodeToString([]byte(username + ":" + v.Token.Reveal()))}
		var have dockerAuth
		if raw, ok := cfg.auths[s.registry]; ok && json.Unmarshal(raw, &have) == nil && have == want {
			break // the entry is right: keep the document as it is
		}
		entry, _ := json.Marshal(want)
		cfg.auths[s.registry] = entry
		auths, _ := json.Marshal(cfg.auths)
		cfg.doc["auths"] = auths
		doc, _ := json.Marshal(cfg.doc)
		sec.Data[corev1.DockerConfigJsonKey] = doc
	}
	return sec, nil
}

// dockerAuth is one registry's entry in a .dockerconfigjson's auths.
type dockerAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

type dockerConfig struct {
	doc   map[string]json.RawMessage // every top-level field, kept
	auths map[string]json.RawMessage // every registry's entry, kept
}

// dockerConfig decodes sec's .dockerconfigjson, empty when it has none.
func (s *Sink) dockerConfig(sec *corev1.Secret) (dockerConfig, error) {
	cfg := dockerConfig{doc: map[string]json.RawMessage{}, auths: map[string]json.RawMessage{}}
	raw := sec.Data[corev1.DockerConfigJsonKey]
	if len(bytes.TrimSpace(raw)) == 0 {
		return cfg, nil
	}
	bad := func() error {
		return &sink.Error{Kind: kind, Err: fmt.Errorf("%s: %s is not a JSON object with an auths object", s.Describe(), corev1.DockerConfigJsonKey),
			Hint: "fix or delete the key in the Secret; tokenwarden keeps other registries' entries and does not overwrite what it cannot read"}
	}
	if json.Unmarshal(raw, &cfg.doc) != nil || cfg.doc == nil {
		return cfg, bad()
	}
	if a, ok := cfg.doc["auths"]; ok && (json.Unmarshal(a, &cfg.auths) != nil || cfg.auths == nil) {
		return cfg, bad()
	}
	return cfg, nil
}

// secretsClient reads and writes the Secrets of one namespace as
// corev1.Secret through the dynamic client.
type secretsClient struct{ r dynamic.ResourceInterface }

func (c secretsClient) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error) {
	u, err := c.r.Get(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	return fromUnstructured(u)
}

func (c secretsClient) Create(ctx context.Context, sec *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error) {
	return writeSecret(sec, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.r.Create(ctx, u, opts)
	})
}

func (c secretsClient) Update(ctx context.Context, sec *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error) {
	return writeSecret(sec, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.r.Update(ctx, u, opts)
	})
}

// writeSecret hands sec to call (the dynamic client's Create or Update) as an
// unstructured object, and returns the Secret the API server answers with.
func writeSecret(sec *corev1.Secret, call func(*unstructured.Unstructured) (*unstructured.Unstructured, error)) (*corev1.Secret, error) {
	u, err := toUnstructured(sec)
	if err != nil {
		return nil, err
	}
	if u, err = call(u); err != nil {
		return nil, err
	}
	return fromUnstructured(u)
}

func toUnstructured(sec *corev1.Secret) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sec)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("v1")
	u.SetKind("Secret")
	return u, nil
}

func fromUnstructured(u *unstructured.Unstructured) (*corev1.Secret, error) {
	var sec corev1.Secret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &sec); err != nil {
		return nil, err
	}
	return &sec, nil
}

// namespaceMissing tells a missing namespace from a missing Secret.
func namespaceMissing(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return false
	}
	d := st.Status().Details
	return apierrors.IsNotFound(err) && d != nil && d.Kind == "namespaces"
}

// apiError explains a failed request in the operator's terms, naming what
// RBAC must allow when the API server forbade it.
func (s *Sink) apiError(op string, err error, secrets ...secret.Secret) error {
	e := &sink.Error{Kind: kind}
	msg := sink.Scrub(err.Error(), secrets...)
	ns, name := s.cfg.Namespace, s.cfg.Name
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
	case apierrors.IsForbidden(err):
		msg = fmt.Sprintf("forbidden: the identity may not %s secrets in namespace %s (%s)", op, ns, msg)
		if op == "create" {
			e.Hint = fmt.Sprintf("RBAC: allow verb create on resource secrets in namespace %s (create cannot be limited to a name), or create Secret %s first so that get, update and patch on it suffice", ns, name)
		} else {
			e.Hint = fmt.Sprintf("RBAC: a Role in namespace %s must allow verbs get, update and patch on resource secrets, resourceNames [%s], bound to the identity of this sink's kubeconfig", ns, name)
		}
	case namespaceMissing(err):
		msg = fmt.Sprintf("namespace %s not found", ns)
		e.Hint = "check namespace: on this sink, or create the namespace"
	case apierrors.IsUnauthorized(err):
		e.Hint = "the API server did not accept the credentials: check the kubeconfig's user (an expired token or certificate?)"
	case apierrors.IsInvalid(err):
		e.Hint = "the API server rejected the Secret; check type, labels and annotations on this sink"
	case isUnreachable(err):
		e.Hint = "check that the API server is reachable from here, and the server URL in the kubeconfig (or context) this sink uses"
	}
	e.Err = fmt.Errorf("%s: %s: %s", s.Describe(), op, msg)
	return e
}

// isUnreachable: no answer from the API server at all (refused, timed
// out, no such host, TLS failure).
func isUnreachable(err error) bool {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return false
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

func (s *Sink) wrap(err error) error {
	return &sink.Error{Kind: kind, Err: fmt.Errorf("%s: %w", s.Describe(), err)}
}

func fail(err error, hint string) error {
	return &sink.Error{Kind: kind, Err: err, Hint: hint}
}
