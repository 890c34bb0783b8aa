package kubesecret

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"gitlab.com/tokenwarden/tokenwarden/internal/problem"
)

// Formats: which keys of the Secret hold the token, and in what shape.
const (
	// FormatOpaque: the token under one or more keys of your choice, and
	// optionally the username under username_key.
	FormatOpaque = "opaque"
	// FormatDockerConfigJSON: an image pull secret (.dockerconfigjson),
	// one registry's entry in auths; other registries' entries are kept.
	FormatDockerConfigJSON = "dockerconfigjson"
	// FormatArgoCDRepository: Argo CD repository credentials: the label
	// argocd.argoproj.io/secret-type=repository and the keys url, username,
	// password.
	FormatArgoCDRepository = "argocd-repository"
	// FormatFluxBasicAuth: the keys username and password that a Flux
	// GitRepository's secretRef reads.
	FormatFluxBasicAuth = "flux-basic-auth"
)

var formats = []string{FormatOpaque, FormatDockerConfigJSON, FormatArgoCDRepository, FormatFluxBasicAuth}

// DefaultUsername is the username written next to an access token when the
// config names none: GitLab ignores the username of an access token over
// HTTPS and for the container registry as long as it is not empty.
const DefaultUsername = "oauth2"

// Config names the Secret and its shape: a "kubernetes_secret:" entry under
// deliver in the config file.
type Config struct {
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
	// Kubeconfig and Context select the cluster and identity. Without
	// Kubeconfig: the in-cluster service account when tokenwarden runs in a
	// pod, else $KUBECONFIG, else ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig" config:"path"`
	Context    string `yaml:"context"`
	Format     string `yaml:"format"` // opaque (default) | dockerconfigjson | argocd-repository | flux-basic-auth
	// Type is the Secret's type when tokenwarden creates it; the default
	// follows the format (Opaque, kubernetes.io/dockerconfigjson).
	Type string `yaml:"type"`
	// Key and Keys (opaque): the keys that hold the token.
	Key  string   `yaml:"key"`
	Keys []string `yaml:"keys"`
	// UsernameKey and PasswordKey (opaque): a username/password pair;
	// PasswordKey holds the token, UsernameKey holds Username.
	UsernameKey string `yaml:"username_key"`
	PasswordKey string `yaml:"password_key"`
	// Username goes with the token where a format has one ("oauth2"
	// unless set); a token's own username (a deploy token's) replaces it.
	Username string `yaml:"username"`
	// Registry (dockerconfigjson): the registry host of the auths entry;
	// default registry.<the GitLab URL's host>.
	Registry string `yaml:"registry"`
	// URL (argocd-repository): the repository URL (or URL prefix, for a
	// credential template) Argo CD matches.
	URL string `yaml:"url"`
	// Labels and Annotations are set on the Secret; others are kept.
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	// TakeOver lets tokenwarden write into a Secret that another tool
	// manages (a managed-by label or annotation, a controller owner).
	TakeOver bool `yaml:"take_over"`
}

// DefaultConfig is a Config with the defaults a config file starts from.
func DefaultConfig() *Config { return &Config{} }

// Complete fills in what the settings imply: format opaque, key "token"
// for an opaque Secret that names no key, the username, the Secret type.
func (c *Config) Complete() {
	if c.Format == "" {
		c.Format = FormatOpaque
	}
	if c.Format == FormatOpaque && c.Key == "" && len(c.Keys) == 0 && c.PasswordKey == "" {
		c.Key = "token"
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.Type == "" {
		c.Type = string(corev1.SecretTypeOpaque)
		if c.Format == FormatDockerConfigJSON {
			c.Type = string(corev1.SecretTypeDockerConfigJson)
		}
	}
	c.Registry = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(c.Registry, "https://"), "http://"), "/")
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._/-]*)?$`)

// Validate reports every problem of c. New refuses the first; config
// reports them all, each at its line.
func (c *Config) Validate() []problem.Problem {
	var ps problem.List
	switch {
	case c.Namespace == "":
		ps.Add("", "add namespace: the Secret's namespace", "namespace is required")
	case len(validation.IsDNS1123Label(c.Namespace)) > 0:
		ps.Add("namespace", "a namespace is a DNS label: lowercase letters, digits and -", "invalid namespace %q", c.Namespace)
	}
	switch {
	case c.Name == "":
		ps.Add("", "add name: the Secret's name", "name is required")
	case len(validation.IsDNS1123Subdomain(c.Name)) > 0:
		ps.Add("name", "a Secret's name is lowercase letters, digits, - and .", "invalid name %q", c.Name)
	}
	if !slices.Contains(formats, c.Format) {
		ps.Add("format", "one of "+strings.Join(formats, ", "), "unknown format %q", c.Format)
		return ps
	}
	keys := c.ownKeys()
	for _, k := range keys {
		if len(validation.IsConfigMapKey(k)) > 0 {
			ps.Add("", "a Secret key is letters, digits, -, _ and .", "invalid key %q", k)
		}
	}
	if c.Format == FormatOpaque {
		if c.PasswordKey == "" && c.UsernameKey != "" {
			ps.Add("username_key", "add password_key: the key that holds the token next to the username", "username_key needs password_key")
		}
		if dup := duplicate(keys); dup != "" {
			ps.Add("", "give each value its own key", "key %q is named twice", dup)
		}
	} else {
		for key, set := range map[string]bool{"key": c.Key != "", "keys": len(c.Keys) > 0, "username_key": c.UsernameKey != "", "password_key": c.PasswordKey != ""} {
			if set {
				ps.Add(key, fmt.Sprintf("format %s fixes its keys; use format: opaque to choose them", c.Format), "%s is only for format opaque", key)
			}
		}
	}
	if c.Registry != "" && c.Format != FormatDockerConfigJSON {
		ps.Add("registry", "remove it, or use format: dockerconfigjson", "registry is only for format dockerconfigjson")
	}
	if c.Registry != "" && !hostRE.MatchString(c.Registry) {
		ps.Add("registry", "write the registry's host (and port), e.g. registry.gitlab.example.com", "invalid registry %q", c.Registry)
	}
	switch {
	case c.Format == FormatArgoCDRepository && c.URL == "":
		ps.Add("", "add url: the repository URL Argo CD clones, e.g. https://gitlab.example.com/group/project.git", "url is required for format argocd-repository")
	case c.URL != "" && c.Format != FormatArgoCDRepository:
		ps.Add("url", "remove it, or use format: argocd-repository", "url is only for format argocd-repository")
	case c.URL != "":
		if u, err := url.Parse(c.URL); err != nil || u.Host == "" || u.User != nil {
			ps.Add("url", "write the repository's URL without credentials, e.g. https://gitlab.example.com/group/project.git", "invalid url %q", c.URL)
		}
	}
	if c.Username == "" || strings.ContainsAny(c.Username, ":\n") {
		ps.Add("username", "any non-empty username without ':' works with an access token", "invalid username %q", c.Username)
	}
	if strings.ContainsAny(c.Type, " \t\n") {
		ps.Add("type", "e.g. Opaque or kubernetes.io/basic-auth", "invalid type %q", c.Type)
	}
	if c.Format == FormatDockerConfigJSON && c.Type != string(corev1.SecretTypeDockerConfigJson) {
		ps.Add("type", "remove type: an image pull secret has type kubernetes.io/dockerconfigjson", "format dockerconfigjson needs type %s, not %q", corev1.SecretTypeDockerConfigJson, c.Type)
	}
	for k, v := range c.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			ps.Add("labels", "a label key is [prefix/]name: letters, digits, -, _ and .", "invalid label key %q", k)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			ps.Add("labels", "a label value is at most 63 letters, digits, -, _ and .", "invalid value of label %q", k)
		}
		if reserved(k) {
			ps.Add("labels", "tokenwarden sets it itself", "label %q is reserved", k)
		}
	}
	for k := range c.Annotations {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			ps.Add("annotations", "an annotation key is [prefix/]name: letters, digits, -, _ and .", "invalid annotation key %q", k)
		}
		if reserved(k) {
			ps.Add("annotations", "tokenwarden sets it itself", "annotation %q is reserved", k)
		}
	}
	return ps
}

func reserved(k string) bool {
	return k == LabelManagedBy || k == AnnotationOwner || k == labelArgoCDSecretType
}

// ownKeys are the data keys the sink writes.
func (c *Config) ownKeys() []string {
	switch c.Format {
	case FormatDockerConfigJSON:
		return []string{corev1.DockerConfigJsonKey}
	case FormatArgoCDRepository:
		return []string{"url", "username", "password"}
	case FormatFluxBasicAuth:
		return []string{"username", "password"}
	}
	ks := c.tokenKeys()
	if c.UsernameKey != "" {
		ks = append(ks, c.UsernameKey)
	}
	return ks
}

// tokenKeys are the opaque keys that hold the token.
func (c *Config) tokenKeys() []string {
	var ks []string
	if c.Key != "" {
		ks = append(ks, c.Key)
	}
	ks = append(ks, c.Keys...)
	if c.PasswordKey != "" {
		ks = append(ks, c.PasswordKey)
	}
	return ks
}

func duplicate(ks []string) string {
	seen := map[string]bool{}
	for _, k := range ks {
		if seen[k] {
			return k
		}
		seen[k] = true
	}
	return ""
}
