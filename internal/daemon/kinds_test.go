package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/notify"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// GitLab numbers each kind of credential on its own: a deploy token and a
// project access token can have the same id. serve (serve.kinds) lists
// both, each keyed by kind and id: in the state, and in the notifications,
// which the notifier de-duplicates — one must not silence the other.
func TestServeKeepsCredentialsOfTwoKindsWithOneID(t *testing.T) {
	w := newWorld(t)
	pat := w.token("ci", 20*day, 300*day)
	exp := start.Add(20 * day)
	var dep sim.DeployToken
	for dep.ID < pat.ID {
		name := "filler"
		if dep.ID+1 == pat.ID {
			name = "ci"
		}
		var err error
		if dep, _, err = w.Srv.CreateDeployToken("project", w.Project.ID, sim.DeployTokenSpec{
			Name: name, Scopes: []string{"read_registry"}, CreatedAt: start.Add(-100 * day), ExpiresAt: &exp}); err != nil {
			t.Fatal(err)
		}
	}
	if dep.ID != pat.ID {
		t.Fatalf("deploy token id %d, access token id %d: the emulator numbers them together", dep.ID, pat.ID)
	}
	w.writeConfig()
	w.editConfig("serve: {scan_interval: 30d}", "serve: {scan_interval: 30d, kinds: [project_access_token, deploy_token]}", "")
	p := w.start(nil)
	p.asleep(t)

	st := p.d.State()
	found := map[string]bool{}
	for _, tok := range st.Tokens {
		if tok.ID != pat.ID || tok.Name != "ci" {
			continue
		}
		found[tok.TokenKind()] = true
		if !hasFinding(tok, daemon.CodeUnmanaged) || !hasFinding(tok, "expires-soon") {
			t.Errorf("%s %d: findings %+v, want unmanaged and expires-soon", tok.TokenKind(), tok.ID, tok.Findings)
		}
	}
	for _, k := range []string{gitlab.KindProjectAccessToken, gitlab.KindDeployToken} {
		if !found[k] {
			t.Errorf("the state lacks the %s %d named ci (found %v)", k, pat.ID, found)
		}
	}
	keys := map[string]notify.Event{}
	for _, e := range w.events.all() {
		if e.Kind == notify.KindExpiring && e.Token.Name == "ci" {
			keys[e.DedupKey()] = e
		}
	}
	if len(keys) != 2 {
		t.Errorf("expiring notifications with %d distinct de-duplication keys, want 2 (one per kind): %v", len(keys), keys)
	}
}

func hasFinding(t daemon.Token, code string) bool {
	for _, f := range t.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

func (r *recorder) all() []notify.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Event(nil), r.events...)
}

// The README's alert rule, over serve's /metrics with every kind scanned:
// it fires for an unmanaged deploy token that expires within a week, even
// when a managed access token of the same name on the same project has a
// next rotation (the rule matches series on their kind too), and not for
// the managed token. Every token with an expiry has its series, labelled
// with its kind; the expiry notice about the deploy token names its kind.
func TestReadmeAlertRuleOverEveryKind(t *testing.T) {
	w := newWorld(t)
	w.token("ci", 200*day, 300*day)
	soon := start.Add(5 * day)
	if _, _, err := w.Srv.CreateDeployToken("project", w.Project.ID, sim.DeployTokenSpec{
		Name: "ci", Scopes: []string{"read_registry"}, CreatedAt: start.Add(-100 * day), ExpiresAt: &soon}); err != nil {
		t.Fatal(err)
	}
	owner, err := w.Srv.CreateUser("release", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Srv.AddMember("project", w.Project.ID, owner.ID, 40); err != nil {
		t.Fatal(err)
	}
	later := start.Add(60 * day)
	if _, _, err := w.Srv.CreateTrigger(w.Project.ID, owner.ID, sim.TriggerSpec{Description: "nightly", ExpiresAt: &later}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Srv.CreatePersonalToken(owner.ID, sim.TokenSpec{Name: "laptop", Scopes: []string{"read_api"}, ExpiresAt: &later}); err != nil {
		t.Fatal(err)
	}
	w.writeConfig(tokenSpec{"ci", "overlap"})
	w.editConfig("serve: {scan_interval: 30d}", "serve: {scan_interval: 30d, kinds: all}", "")
	p := w.start(nil)
	p.asleep(t)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p.d.Metrics()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	type sample struct {
		labels map[string]string
		v      float64
	}
	samples := map[string][]sample{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			samples[mf.GetName()] = append(samples[mf.GetName()], sample{l, m.GetGauge().GetValue()})
		}
	}

	// Every token of the state with an expiry has its series, by kind.
	kinds := map[string]bool{}
	for _, tok := range p.d.State().Tokens {
		if tok.ExpiresAt == nil || tok.State == gitlab.StateRevoked {
			continue
		}
		kinds[tok.TokenKind()] = true
		found := false
		for _, s := range samples["tokenwarden_token_expiry_timestamp_seconds"] {
			l := s.labels
			found = found || (l["kind"] == tok.TokenKind() && l["resource_path"] == tok.Resource.Path && l["token_name"] == tok.Name &&
				s.v == float64(tok.ExpiresAt.Unix()))
		}
		if !found {
			t.Errorf("no expiry series for the %s %q of %s", tok.TokenKind(), tok.Name, tok.Resource.Path)
		}
	}
	for _, k := range []string{gitlab.KindProjectAccessToken, gitlab.KindDeployToken, gitlab.KindTriggerToken, gitlab.KindPersonalAccessToken} {
		if !kinds[k] {
			t.Errorf("serve with kinds: all found no %s with an expiry (found %v)", k, kinds)
		}
	}

	// The rule: (expiry - time()) < N * 86400 unless on (labels) next_rotation.
	expr := readmeRule(t, "GitLabTokenExpiresSoon")
	m := regexp.MustCompile(`^\((\w+) - time\(\)\) < (\d+) \* 86400\s+unless on \(([\w, ]+)\) (\w+)$`).FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("the README's rule %q is not of the form this test evaluates", expr)
	}
	days, _ := strconv.Atoi(m[2])
	on := strings.Split(strings.ReplaceAll(m[3], " ", ""), ",")
	key := func(l map[string]string) string {
		var b strings.Builder
		for _, n := range on {
			b.WriteString(n + "=" + l[n] + ",")
		}
		return b.String()
	}
	masked := map[string]bool{}
	for _, s := range samples[m[4]] {
		masked[key(s.labels)] = true
	}
	if len(samples[m[4]]) == 0 {
		t.Errorf("no %s series: the managed token has no next rotation", m[4])
	}
	now := float64(w.Clock.Now().Unix())
	fired := map[string]bool{}
	for _, s := range samples[m[1]] {
		if s.v-now < float64(days*86400) && !masked[key(s.labels)] {
			fired[s.labels["kind"]+" "+s.labels["resource_path"]+":"+s.labels["token_name"]] = true
		}
	}
	if !fired["deploy_token acme/app:ci"] || fired["project_access_token acme/app:ci"] {
		t.Errorf("the README's alert fires for %v, want the deploy token acme/app:ci and not the managed access token of its name", fired)
	}

	var notice *notify.Event
	for _, e := range w.events.all() {
		if e.Kind == notify.KindExpiring && e.Token.Kind == gitlab.KindDeployToken {
			notice = &e
		}
	}
	if notice == nil || !strings.HasPrefix(notice.Summary(), "Deploy token project/acme/app:ci expires on") {
		t.Errorf("expiry notice about the deploy token: %+v", notice)
	}
}

// readmeRule is the expr of the README's alert rule named alert.
func readmeRule(t *testing.T, alert string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\ngroups:")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the README has no ```yaml groups: block of alert rules")
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal([]byte("groups:"+block), &rules); err != nil {
		t.Fatalf("the README's alert rules: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Expr
			}
		}
	}
	t.Fatalf("the README has no alert %s", alert)
	return ""
}

// What serve.kinds costs a wake-up's scan, in requests to GitLab: without
// it, a config that manages only access tokens scans exactly as with
// kinds: [group_access_token, project_access_token] — no list of the other
// kinds; kinds: all adds one list per resource and kind, plus the
// instance's runners and every user's personal tokens.
func TestServeKindsCostPerScan(t *testing.T) {
	w := newWorld(t)
	for i := range 4 {
		g, err := w.Srv.CreateGroup(fmt.Sprintf("team-%d", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			if _, err := w.Srv.CreateProject(fmt.Sprintf("svc-%d", j), g.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.token("ci", 200*day, 300*day)
	w.writeConfig(tokenSpec{"ci", "overlap"})
	requests := func(serve string) int64 {
		w.writeConfig(tokenSpec{"ci", "overlap"})
		w.editConfig("serve: {scan_interval: 30d}", serve, "")
		before := w.Srv.Stats().Requests
		p := w.start(nil)
		p.asleep(t)
		p.stop(t)
		return w.Srv.Stats().Requests - before
	}
	def := requests("serve: {scan_interval: 30d}")
	access := requests("serve: {scan_interval: 30d, kinds: [group_access_token, project_access_token]}")
	all := requests("serve: {scan_interval: 30d, kinds: all}")
	t.Logf("requests per wake-up, 5 groups and 13 projects: default %d, access tokens %d, all kinds %d", def, access, all)
	if def != access {
		t.Errorf("the default scan made %d requests, kinds: [group_access_token, project_access_token] %d: want the same", def, access)
	}
	// 5 groups: deploy tokens; 13 projects: deploy and trigger tokens;
	// runners of the instance; users, service accounts and their tokens.
	if min := access + 5 + 2*13 + 1 + 3; all < min {
		t.Errorf("kinds: all made %d requests, want at least %d", all, min)
	}
}
