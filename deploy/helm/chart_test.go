// Package helm_test renders the Helm chart in tokenwarden/ with Helm's own
// engine (no cluster, no helm binary), decodes every object strictly with
// the Kubernetes (and Prometheus Operator) API types, and runs the config it
// renders through tokenwarden: its loader, and `tokenwarden serve` itself
// with the pod's environment, probed on the paths and port the Deployment
// names.
package helm_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

const (
	chartDir  = "tokenwarden"
	namespace = "tokens"
	rootToken = "glpat-root0000000000000000"
)

// rendered is a chart's objects, decoded strictly, by kind.
type rendered struct {
	configMap *corev1.ConfigMap
	deploy    *appsv1.Deployment
	service   *corev1.Service
	pvc       *corev1.PersistentVolumeClaim
	pdb       *policyv1.PodDisruptionBudget
	sa        *corev1.ServiceAccount
	role      *rbacv1.Role
	binding   *rbacv1.RoleBinding
	monitor   *monitoringv1.ServiceMonitor
	rule      *monitoringv1.PrometheusRule
	kinds     []string
	text      map[string]string // kind → the object's YAML
}

// render renders the chart with the values files (relative to the chart)
// and then the values in extra (YAML), as `helm template -f … -f …` would.
func render(t *testing.T, files []string, extra string) (*rendered, error) {
	t.Helper()
	chrt, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	vals := map[string]any{}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		vals = chartutil.CoalesceTables(v.AsMap(), vals)
	}
	if extra != "" {
		v, err := chartutil.ReadValues([]byte(extra))
		if err != nil {
			t.Fatalf("values: %v", err)
		}
		vals = chartutil.CoalesceTables(v.AsMap(), vals)
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		t.Fatal(err)
	}
	// ToRenderValues checks values.schema.json, as helm install does.
	top, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{Name: "tw", Namespace: namespace, IsInstall: true, Revision: 1}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	out, err := engine.Engine{Strict: true}.Render(chrt, top)
	if err != nil {
		return nil, err
	}
	r := &rendered{text: map[string]string{}}
	for _, name := range slices.Sorted(maps.Keys(out)) {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for _, doc := range strings.Split(out[name], "\n---") {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			r.add(t, name, doc)
		}
	}
	return r, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// add decodes one object strictly: a field the API type does not have fails.
func (r *rendered) add(t *testing.T, file, doc string) {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		t.Fatalf("%s: %v\n%s", file, err, doc)
	}
	// Each kind the chart may render, by apiVersion and kind, and where
	// its decoded object goes.
	field, ok := map[string]any{
		"v1 ConfigMap":                             &r.configMap,
		"apps/v1 Deployment":                       &r.deploy,
		"v1 Service":                               &r.service,
		"v1 PersistentVolumeClaim":                 &r.pvc,
		"policy/v1 PodDisruptionBudget":            &r.pdb,
		"v1 ServiceAccount":                        &r.sa,
		"rbac.authorization.k8s.io/v1 Role":        &r.role,
		"rbac.authorization.k8s.io/v1 RoleBinding": &r.binding,
		"monitoring.coreos.com/v1 ServiceMonitor":  &r.monitor,
		"monitoring.coreos.com/v1 PrometheusRule":  &r.rule,
	}[tm.APIVersion+" "+tm.Kind]
	if !ok {
		t.Fatalf("%s: an object the test does not know: %q %q", file, tm.APIVersion, tm.Kind)
	}
	// *field = new(T), decoded into below.
	p := reflect.ValueOf(field).Elem()
	p.Set(reflect.New(p.Type().Elem()))
	obj := p.Interface()
	if slices.Contains(r.kinds, tm.Kind) {
		t.Fatalf("%s: a second %s", file, tm.Kind)
	}
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Fatalf("%s: %s does not decode strictly as %T: %v\n%s", file, tm.Kind, obj, err, doc)
	}
	r.kinds = append(r.kinds, tm.Kind)
	r.text[tm.Kind] = doc
}

func mustRender(t *testing.T, files []string, extra string) *rendered {
	t.Helper()
	r, err := render(t, files, extra)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return r
}

// config is the tokenwarden.yaml of the ConfigMap.
func (r *rendered) config(t *testing.T) string {
	t.Helper()
	c, ok := r.configMap.Data["tokenwarden.yaml"]
	if !ok {
		t.Fatalf("the ConfigMap has no tokenwarden.yaml: %v", slices.Collect(maps.Keys(r.configMap.Data)))
	}
	return c
}

func (r *rendered) container(t *testing.T) corev1.Container {
	t.Helper()
	if r.deploy == nil || len(r.deploy.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("no Deployment with one container")
	}
	return r.deploy.Spec.Template.Spec.Containers[0]
}

func (r *rendered) volume(t *testing.T, name string) corev1.Volume {
	t.Helper()
	for _, v := range r.deploy.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %q", name)
	return corev1.Volume{}
}

// secretEnv maps each variable the container takes from a Secret to
// "secret/key", and each literal one to its value.
func secretEnv(c corev1.Container) (fromSecret, literal map[string]string) {
	fromSecret, literal = map[string]string{}, map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			fromSecret[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		} else {
			literal[e.Name] = e.Value
		}
	}
	return
}

// TestChartDefault: one pod on SQLite with a claim, probes on what serve
// serves, a locked-down pod, and a config tokenwarden accepts.
func TestChartDefault(t *testing.T) {
	r := mustRender(t, nil, "")
	if want := []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "PodDisruptionBudget", "Service", "ServiceAccount"}; !reflect.DeepEqual(slices.Sorted(slices.Values(r.kinds)), want) {
		t.Errorf("objects %v, want %v", slices.Sorted(slices.Values(r.kinds)), want)
	}
	d := r.deploy
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %v, strategy %q: want 1, Recreate", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	data := r.volume(t, "data")
	if data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != r.pvc.Name {
		t.Errorf("/data is %+v, want the claim %s", data.VolumeSource, r.pvc.Name)
	}
	if !slices.Equal(r.pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) || r.pvc.Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Errorf("claim %+v", r.pvc.Spec)
	}
	checkPod(t, r)
	cfg := loadConfig(t, r, nil)
	if cfg.State != "sqlite:///data/tokenwarden.db" || cfg.GitLab.TokenEnv != "GITLAB_TOKEN" || cfg.Serve.PasswordEnv != "TOKENWARDEN_PASSWORD" {
		t.Errorf("config: state %q, token_env %q, password_env %q", cfg.State, cfg.GitLab.TokenEnv, cfg.Serve.PasswordEnv)
	}
	fromSecret, _ := secretEnv(r.container(t))
	if _, ok := fromSecret["TOKENWARDEN_KEY"]; ok {
		t.Error("TOKENWARDEN_KEY without ageKey.secretName: on SQLite the key is created beside the database")
	}
	if r.pdb.Spec.MaxUnavailable == nil || r.pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PDB maxUnavailable %v, want 1 (the single pod may be evicted)", r.pdb.Spec.MaxUnavailable)
	}
}

// TestChartHA: values-ha.yaml runs 2 pods on PostgreSQL, its URL and the age
// key from Secrets, no claim, the README's alerts and a ServiceMonitor.
func TestChartHA(t *testing.T) {
	r := mustRender(t, []string{"values-ha.yaml"}, "")
	if want := []string{"ConfigMap", "Deployment", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}; !reflect.DeepEqual(slices.Sorted(slices.Values(r.kinds)), want) {
		t.Errorf("objects %v, want %v", slices.Sorted(slices.Values(r.kinds)), want)
	}
	d := r.deploy
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	// Standbys never become ready: a rollout that waited for them would
	// never end.
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable.String() != "100%" {
		t.Errorf("strategy %+v: a rollout must not wait for standbys to be ready", d.Spec.Strategy)
	}
	if data := r.volume(t, "data"); data.EmptyDir == nil {
		t.Errorf("/data on PostgreSQL is %+v, want an emptyDir (TMPDIR only)", data.VolumeSource)
	}
	checkPod(t, r)
	fromSecret, _ := secretEnv(r.container(t))
	if fromSecret["TOKENWARDEN_STATE"] != "tokenwarden-state/url" || fromSecret["TOKENWARDEN_KEY"] != "tokenwarden-key/key" {
		t.Errorf("env from Secrets %v: want TOKENWARDEN_STATE and TOKENWARDEN_KEY", fromSecret)
	}
	url := "postgres://tokenwarden:s3cret-Sentinel-pw@db.example.com:5432/tokenwarden?sslmode=verify-full"
	cfg := loadConfig(t, r, map[string]string{"TOKENWARDEN_STATE": url})
	if cfg.State != url || cfg.StateEnv != "TOKENWARDEN_STATE" {
		t.Errorf("config state %q from %q", cfg.State, cfg.StateEnv)
	}
	// The leader is the only ready pod: the PDB must let it go.
	if r.pdb.Spec.MaxUnavailable == nil || r.pdb.Spec.MaxUnavailable.IntValue() != 2 ||
		r.pdb.Spec.UnhealthyPodEvictionPolicy == nil || *r.pdb.Spec.UnhealthyPodEvictionPolicy != policyv1.AlwaysAllow {
		t.Errorf("PDB %+v", r.pdb.Spec)
	}
	checkAlerts(t, r.rule)
	m := r.monitor
	if len(m.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints %+v", m.Spec.Endpoints)
	}
	ep := m.Spec.Endpoints[0]
	if ep.Port != "http" || ep.Path != "/metrics" || ep.Authorization == nil || ep.Authorization.Type != "Bearer" ||
		ep.Authorization.Credentials == nil || ep.Authorization.Credentials.Name != "tokenwarden-dashboard" || ep.Authorization.Credentials.Key != "password" {
		t.Errorf("ServiceMonitor endpoint %+v: /metrics on port http with the dashboard password as bearer token", ep)
	}
	if !reflect.DeepEqual(m.Spec.Selector.MatchLabels, r.service.Labels) && !subset(m.Spec.Selector.MatchLabels, r.service.Labels) {
		t.Errorf("ServiceMonitor selects %v, the Service has %v", m.Spec.Selector.MatchLabels, r.service.Labels)
	}
}

func subset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return len(sub) > 0
}

// checkPod: the probes hit /healthz and /readyz on the port serve listens on
// (serve.listen in the rendered config), the Service reaches that port, and
// the pod runs as the image's user, read-only, without capabilities.
func checkPod(t *testing.T, r *rendered) {
	t.Helper()
	c := r.container(t)
	cfg := loadConfig(t, r, map[string]string{"TOKENWARDEN_STATE": "postgres://db/tw"})
	_, portText, _ := strings.Cut(cfg.Serve.Listen, ":")
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("serve.listen %q", cfg.Serve.Listen)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || int(c.Ports[0].ContainerPort) != port {
		t.Errorf("container ports %+v, want http on %d (serve.listen)", c.Ports, port)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}
	// readyz allows itself 5 s for the journal: the probe must wait longer.
	if c.ReadinessProbe != nil && c.ReadinessProbe.TimeoutSeconds <= 5 {
		t.Errorf("readiness timeout %ds: /readyz may take 5s", c.ReadinessProbe.TimeoutSeconds)
	}
	if sp := r.service.Spec.Ports; len(sp) != 1 || sp[0].TargetPort.String() != "http" {
		t.Errorf("service ports %+v, want targetPort http", sp)
	}
	if !subset(r.service.Spec.Selector, r.deploy.Spec.Template.Labels) || !subset(r.deploy.Spec.Selector.MatchLabels, r.deploy.Spec.Template.Labels) {
		t.Errorf("selectors %v / %v do not match the pod's labels %v", r.service.Spec.Selector, r.deploy.Spec.Selector.MatchLabels, r.deploy.Spec.Template.Labels)
	}
	if !subset(r.pdb.Spec.Selector.MatchLabels, r.deploy.Spec.Template.Labels) {
		t.Errorf("the PDB selects %v, the pods have %v", r.pdb.Spec.Selector.MatchLabels, r.deploy.Spec.Template.Labels)
	}
	// The config volume holds the file serve -c reads.
	mount := ""
	for _, m := range c.VolumeMounts {
		if m.Name == "config" {
			mount = m.MountPath
			if !m.ReadOnly {
				t.Error("the config is mounted writable")
			}
		}
	}
	if cm := r.volume(t, "config").ConfigMap; cm == nil || cm.Name != r.configMap.Name {
		t.Errorf("the config volume is not the ConfigMap %s", r.configMap.Name)
	}
	if i := slices.Index(c.Args, "-c"); i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != mount+"/tokenwarden.yaml" || c.Args[0] != "serve" {
		t.Errorf("args %v: want serve -c %s/tokenwarden.yaml", c.Args, mount)
	}

	uid := imageUser(t)
	ps := r.deploy.Spec.Template.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser != uid ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, runAsUser %d (the Dockerfile's USER), seccomp RuntimeDefault", ps, uid)
	}
	cs := c.SecurityContext
	if cs == nil || cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
		cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.RunAsNonRoot == nil || !*cs.RunAsNonRoot || cs.RunAsUser == nil || *cs.RunAsUser != uid ||
		cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) != 0 ||
		(cs.Privileged != nil && *cs.Privileged) || cs.SeccompProfile == nil || cs.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v", cs)
	}
	// Read-only root: every place serve writes is a volume (/data: the
	// state and TMPDIR).
	_, literal := secretEnv(c)
	if literal["TMPDIR"] != "/data" || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/data" && !m.ReadOnly }) {
		t.Errorf("TMPDIR %q; /data must be a writable volume", literal["TMPDIR"])
	}
}

// imageUser is the uid of the Dockerfile's USER.
func imageUser(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER (\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the Dockerfile has no numeric USER")
	}
	uid, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return uid
}

// imageEnv is the Dockerfile's ENV, as K=V.
func imageEnv(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "ENV "); ok {
			env = append(env, strings.Fields(rest)...)
		}
	}
	return env
}

// loadConfig runs the ConfigMap's tokenwarden.yaml through tokenwarden's
// config loader, with env set (state_env).
func loadConfig(t *testing.T, r *rendered, env map[string]string) *config.Config {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Parse("/etc/tokenwarden/tokenwarden.yaml", []byte(r.config(t)))
	if err != nil {
		t.Fatalf("the rendered config is not valid for tokenwarden: %v\n%s", err, r.config(t))
	}
	return cfg
}

// checkAlerts: the PrometheusRule holds the README's alerts, expressions and
// all.
func checkAlerts(t *testing.T, rule *monitoringv1.PrometheusRule) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```yaml\n(groups:\n.*?)```").FindSubmatch(readme)
	if block == nil || !bytes.Contains(block[1], []byte("alert: ")) {
		t.Fatal("the README has no ```yaml block of alerting rules (groups:)")
	}
	var want monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(block[1], &want); err != nil {
		t.Fatalf("the README's alerts: %v", err)
	}
	if len(want.Groups) == 0 || len(want.Groups[0].Rules) < 3 {
		t.Fatalf("the README's alerts: %+v", want)
	}
	if rule == nil {
		t.Fatal("no PrometheusRule")
	}
	if !reflect.DeepEqual(rule.Spec, want) {
		got, _ := yaml.Marshal(rule.Spec)
		w, _ := yaml.Marshal(want)
		t.Errorf("the PrometheusRule differs from the README's alerts:\n%s\nwant:\n%s", got, w)
	}
}

// sentinels name every Secret and key after what it holds, so that any of
// them showing up outside a secret reference is seen.
const sentinels = `
gitlab:
  token: {secretName: sentinel-gitlab-secret, key: sentinel-gitlab-key}
dashboard:
  password: {secretName: sentinel-dash-secret, key: sentinel-dash-key}
state:
  type: postgres
  postgres:
    url: {secretName: sentinel-pg-secret, key: sentinel-pg-key}
ageKey: {secretName: sentinel-age-secret, key: sentinel-age-key}
secretEnv:
  - {name: SLACK_WEBHOOK_URL, secretName: sentinel-slack-secret, key: sentinel-slack-key}
config:
  notify:
    - slack: {webhook_url_env: SLACK_WEBHOOK_URL}
serviceMonitor: {enabled: true}
`

// TestChartSecretsOnlyByReference: every secret is a Secret reference (env
// from secretKeyRef, the ServiceMonitor's credentials); the ConfigMap names
// environment variables only, and the chart makes no Secret of its own.
func TestChartSecretsOnlyByReference(t *testing.T) {
	r := mustRender(t, []string{"values-ha.yaml"}, sentinels)
	fromSecret, _ := secretEnv(r.container(t))
	want := map[string]string{
		"GITLAB_TOKEN":         "sentinel-gitlab-secret/sentinel-gitlab-key",
		"TOKENWARDEN_PASSWORD": "sentinel-dash-secret/sentinel-dash-key",
		"TOKENWARDEN_STATE":    "sentinel-pg-secret/sentinel-pg-key",
		"TOKENWARDEN_KEY":      "sentinel-age-secret/sentinel-age-key",
		"SLACK_WEBHOOK_URL":    "sentinel-slack-secret/sentinel-slack-key",
	}
	if !reflect.DeepEqual(fromSecret, want) {
		t.Errorf("env from Secrets %v, want %v", fromSecret, want)
	}
	refs := 0
	for kind, text := range r.text {
		n := strings.Count(text, "sentinel-")
		switch kind {
		case "Deployment":
			refs += n
			if n != 2*len(want) {
				t.Errorf("the Deployment names the sentinels %d times, want %d (secretKeyRef name and key only)", n, 2*len(want))
			}
		case "ServiceMonitor":
			refs += n
			if n != 2 || r.monitor.Spec.Endpoints[0].Authorization.Credentials.Name != "sentinel-dash-secret" {
				t.Errorf("the ServiceMonitor names the sentinels %d times:\n%s", n, text)
			}
		default:
			if n != 0 {
				t.Errorf("%s names a Secret or its key (only secret references may):\n%s", kind, text)
			}
		}
	}
	if refs == 0 {
		t.Fatal("no sentinel found at all")
	}
	cfg := r.config(t)
	for _, name := range []string{"GITLAB_TOKEN", "TOKENWARDEN_PASSWORD", "TOKENWARDEN_STATE", "SLACK_WEBHOOK_URL"} {
		if !strings.Contains(cfg, name) {
			t.Errorf("the config does not name %s:\n%s", name, cfg)
		}
	}
	if slices.Contains(r.kinds, "Secret") {
		t.Error("the chart makes a Secret: it must only reference existing ones")
	}
	// The config tokenwarden loads from it takes the secrets from there.
	loaded := loadConfig(t, r, map[string]string{"TOKENWARDEN_STATE": "postgres://tw:pw@db/tw"})
	if loaded.GitLab.TokenEnv != "GITLAB_TOKEN" || loaded.Serve.PasswordEnv != "TOKENWARDEN_PASSWORD" || loaded.StateEnv != "TOKENWARDEN_STATE" ||
		len(loaded.Notify) != 1 || loaded.Notify[0].Slack == nil || loaded.Notify[0].Slack.WebhookURLEnv != "SLACK_WEBHOOK_URL" {
		t.Errorf("loaded config %+v", loaded)
	}
}

// TestChartRBAC: rbac.secrets makes a Role with exactly get, update and patch
// on those Secrets, bound to the pod's service account, whose token is then
// mounted (and only then).
func TestChartRBAC(t *testing.T) {
	r := mustRender(t, nil, "rbac:\n  secrets: [argocd-repo-app, registry-pull]\n")
	if r.role == nil || r.binding == nil {
		t.Fatalf("no Role/RoleBinding: %v", r.kinds)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"argocd-repo-app", "registry-pull"}, Verbs: []string{"get", "update", "patch"}}}
	if !reflect.DeepEqual(r.role.Rules, want) {
		t.Errorf("Role rules %+v, want %+v", r.role.Rules, want)
	}
	sa := r.deploy.Spec.Template.Spec.ServiceAccountName
	if r.binding.RoleRef.Kind != "Role" || r.binding.RoleRef.Name != r.role.Name ||
		len(r.binding.Subjects) != 1 || r.binding.Subjects[0].Kind != "ServiceAccount" || r.binding.Subjects[0].Name != sa || r.binding.Subjects[0].Namespace != namespace {
		t.Errorf("RoleBinding %+v does not bind %s to the pod's service account %s", r.binding, r.role.Name, sa)
	}
	if r.sa == nil || r.sa.Name != sa {
		t.Errorf("service account %v, the pod uses %s", r.sa, sa)
	}
	if a := r.deploy.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || !*a {
		t.Error("the pod does not mount its service account token: the sink cannot reach the API server")
	}
	plain := mustRender(t, nil, "")
	if a := plain.deploy.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("without rbac.secrets the pod needs no API token, yet mounts one")
	}
}

// TestChartRefuses: values that cannot work fail the render with a message
// saying what to change.
func TestChartRefuses(t *testing.T) {
	for _, tt := range []struct{ name, values, msg string }{
		{"two pods on SQLite", "replicas: 2\n", "replicas: 2 on an SQLite state: only one process may work on the SQLite journal"},
		{"postgres without URL", "state: {type: postgres}\nageKey: {secretName: k}\n", "state.type postgres needs state.postgres.url.secretName"},
		{"postgres without key", "state: {type: postgres, postgres: {url: {secretName: u}}}\n", "state.type postgres needs ageKey.secretName"},
		{"unknown state", "state: {type: mysql}\n", "at '/state/type': value must be one of 'sqlite', 'postgres'"},
		{"state in config", "config: {state: 'sqlite:///x.db'}\n", "config.state: the chart writes state itself"},
		{"a misspelt value", "replica: 2\n", "additional properties 'replica' not allowed"},
		{"a misspelt nested value", "dashboard: {pasword: {secretName: s, key: k}}\n", "additional properties 'pasword' not allowed"},
		{"an env name that is not one", "secretEnv: [{name: SLACK-URL, secretName: s, key: k}]\n", "SLACK-URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, nil, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("render: %v, want an error containing %q", err, tt.msg)
			}
		})
	}
	// Two pods are fine on PostgreSQL.
	mustRender(t, []string{"values-ha.yaml"}, "replicas: 3\n")
}

// TestChartServes runs `tokenwarden serve` as the pod would: the rendered
// config, the args of the container, the environment it gets from its
// Secrets, and a writable /data; then probes it on the Deployment's paths.
// On SQLite one pod gets ready; on PostgreSQL (values-ha.yaml) one leads
// (ready) and the other stands by (alive, not ready).
func TestChartServes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tokenwarden")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tokenwarden").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	_, gitlabURL := simtest.Start(t, sim.Options{RootToken: rootToken})
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"tokenwarden-gitlab/token":       rootToken,
		"tokenwarden-dashboard/password": "operator-Password-5Ks",
		"tokenwarden-key/key":            id.String(),
		"tokenwarden-state/url":          "", // set below
	}
	values := "gitlab: {url: " + gitlabURL + "}\n"

	t.Run("sqlite", func(t *testing.T) {
		r := mustRender(t, nil, values)
		pod := startPod(t, bin, r, secrets)
		pod.waitStatus(t, "/readyz", http.StatusOK)
		pod.waitStatus(t, "/healthz", http.StatusOK)
		if _, err := os.Stat(filepath.Join(pod.data, "tokenwarden.db")); err != nil {
			t.Errorf("the journal is not on the volume: %v", err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		secrets["tokenwarden-state/url"] = pgtest.DSN(t)
		r := mustRender(t, []string{"values-ha.yaml"}, values)
		first := startPod(t, bin, r, secrets)
		first.waitStatus(t, "/readyz", http.StatusOK)
		second := startPod(t, bin, r, secrets)
		second.waitStatus(t, "/healthz", http.StatusOK)
		second.waitLog(t, "standing by")
		if code := second.get(t, "/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("standby /readyz %d, want 503", code)
		}
		first.stop(t)
		second.waitStatus(t, "/readyz", http.StatusOK)
	})
}

type pod struct {
	cmd  *exec.Cmd
	data string
	out  *simtest.Buffer
	base string
	done chan error
}

// startPod starts serve with the container's args and environment: values
// from secrets ("name/key"), /data a fresh directory, the ConfigMap's file
// at the path -c names. Only the listen address moves to a free loopback
// port (the config's port is checked against the container's elsewhere).
func startPod(t *testing.T, bin string, r *rendered, secrets map[string]string) *pod {
	t.Helper()
	c := r.container(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgText := r.config(t)
	cfgText = strings.ReplaceAll(cfgText, "sqlite:///data/", "sqlite://"+data+"/")
	cfgText = regexp.MustCompile(`(?m)^(\s+listen: ):\d+$`).ReplaceAllString(cfgText, "${1}127.0.0.1:0")
	if !strings.Contains(cfgText, "listen: 127.0.0.1:0") {
		t.Fatalf("no serve.listen :PORT in the config:\n%s", cfgText)
	}
	cfgPath := filepath.Join(root, "tokenwarden.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o444); err != nil {
		t.Fatal(err)
	}
	args := slices.Clone(c.Args)
	for i, a := range args {
		if strings.HasPrefix(a, "/etc/tokenwarden/") {
			args[i] = cfgPath
		}
	}
	// The image's environment (the Dockerfile's ENV), then the container's.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(root, "no-home")}
	for _, kv := range imageEnv(t) {
		env = append(env, strings.ReplaceAll(kv, "/data", data))
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			v, ok := secrets[ref]
			if !ok {
				t.Fatalf("the pod needs Secret %s, which the test does not have", ref)
			}
			env = append(env, e.Name+"="+v)
		default:
			env = append(env, e.Name+"="+strings.ReplaceAll(e.Value, "/data", data))
		}
	}
	if pw := os.Getenv("PGPASSWORD"); pw != "" {
		env = append(env, "PGPASSWORD="+pw) // the test database's; in a pod it is in the URL
	}
	p := &pod{data: data, out: &simtest.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Dir = root
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	addr := regexp.MustCompile(`dashboard: (http://\S+)/`)
	p.waitFor(t, "the dashboard's address", func() bool { return addr.MatchString(p.out.String()) })
	p.base = addr.FindStringSubmatch(p.out.String())[1]
	return p
}

func (p *pod) stop(t *testing.T) {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("serve did not stop within a minute of SIGTERM:\n%s", p.out.String())
	}
}

func (p *pod) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("serve exited (%v) before %s:\n%s", err, what, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute:\n%s", what, p.out.String())
		}
	}
}

func (p *pod) get(t *testing.T, path string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (p *pod) waitStatus(t *testing.T, path string, code int) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%d on %s", code, path), func() bool { return p.get(t, path) == code })
}

func (p *pod) waitLog(t *testing.T, text string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%q in the log", text), func() bool {
		sc := bufio.NewScanner(strings.NewReader(p.out.String()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), text) {
				return true
			}
		}
		return false
	})
}
