package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/metrics"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// state is a Source the test changes between scrapes (set); it starts
// empty. A source that does not change is a fixed.
type state struct {
	snap atomic.Pointer[metrics.Snapshot]
}

func (s *state) Snapshot() metrics.Snapshot {
	if p := s.snap.Load(); p != nil {
		return *p
	}
	return metrics.Snapshot{}
}

func (s *state) set(snap metrics.Snapshot) { s.snap.Store(&snap) }

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// scrape GETs /metrics like Prometheus and parses the text format.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// series renders a family as "label=value,… → value" lines, sorted.
func series(mfs map[string]*dto.MetricFamily, name string) []string {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
	var out []string
	for _, m := range mf.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		}
		out = append(out, strings.Join(ls, ",")+" "+model.SampleValue(v).String())
	}
	sort.Strings(out)
	return out
}

// equal compares two sets of series.
func equal(t *testing.T, name string, got, want []string) {
	t.Helper()
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestGaugesFromState(t *testing.T) {
	src := fixed{
		Tokens: []metrics.TokenState{
			{ResourceType: "group", ResourcePath: "platform/infra", Name: "deploy", Managed: true,
				ExpiresAt: at("2027-01-01T00:00:00Z"), LastUsedAt: at("2026-11-24T10:00:00Z"), NextRotation: at("2026-12-02T00:00:00Z")},
			{ResourceType: "project", ResourcePath: "platform/infra/app", Name: "old-ci", Managed: false,
				ExpiresAt: at("2026-12-10T00:00:00Z")}, // never used: no last_used series
		},
		Findings: []metrics.FindingCount{{Code: "never-used", Severity: "warning", Count: 1}, {Code: "expires-soon", Severity: "critical", Count: 2}},
		LastScan: *at("2026-11-25T12:00:00Z"),
	}
	m := newMetrics(src, "v1.2.3", "abc123")
	mfs := scrape(t, m.Handler())

	equal(t, "expiry", series(mfs, "tokenwarden_token_expiry_timestamp_seconds"), []string{
		"kind=group_access_token,managed=true,resource_path=platform/infra,resource_type=group,token_name=deploy 1798761600",
		"kind=project_access_token,managed=false,resource_path=platform/infra/app,resource_type=project,token_name=old-ci 1796860800",
	})
	equal(t, "last used", series(mfs, "tokenwarden_token_last_used_timestamp_seconds"), []string{
		"kind=group_access_token,managed=true,resource_path=platform/infra,resource_type=group,token_name=deploy 1795514400",
	})
	equal(t, "next rotation", series(mfs, "tokenwarden_token_next_rotation_timestamp_seconds"), []string{
		"kind=group_access_token,managed=true,resource_path=platform/infra,resource_type=group,token_name=deploy 1796169600",
	})
	equal(t, "findings", series(mfs, "tokenwarden_findings"), []string{
		"code=expires-soon,severity=critical 2",
		"code=never-used,severity=warning 1",
	})
	equal(t, "last scan", series(mfs, "tokenwarden_last_scan_timestamp_seconds"), []string{" 1795608000"})
	equal(t, "build info", series(mfs, "tokenwarden_build_info"), []string{
		"goversion=" + runtime.Version() + ",revision=abc123,version=v1.2.3 1",
	})
	for name, typ := range map[string]dto.MetricType{
		"tokenwarden_token_expiry_timestamp_seconds": dto.MetricType_GAUGE,
		"tokenwarden_findings":                       dto.MetricType_GAUGE,
		"tokenwarden_rotations_total":                dto.MetricType_COUNTER,
	} {
		if mf := mfs[name]; mf == nil || mf.GetType() != typ || mf.GetHelp() == "" {
			t.Errorf("%s: missing, not a %v, or without help", name, typ)
		}
	}
}

// The gauges are read at scrape time: the next scrape shows the new state,
// and a token gone from the state is gone from /metrics.
func TestGaugesFollowTheSource(t *testing.T) {
	src := &state{}
	m := newMetrics(src, "dev", "")
	mfs := scrape(t, m.Handler())
	equal(t, "before the first scan", series(mfs, "tokenwarden_last_scan_timestamp_seconds"), []string{" 0"})
	if got := series(mfs, "tokenwarden_token_expiry_timestamp_seconds"); got != nil {
		t.Errorf("expiry series before any token: %v", got)
	}

	tok := metrics.TokenState{ResourceType: "group", ResourcePath: "g", Name: "ci", Managed: true, ExpiresAt: at("2027-01-01T00:00:00Z")}
	src.set(metrics.Snapshot{Tokens: []metrics.TokenState{tok}, LastScan: *at("2026-11-25T12:00:00Z")})
	mfs = scrape(t, m.Handler())
	equal(t, "after a scan", series(mfs, "tokenwarden_token_expiry_timestamp_seconds"),
		[]string{"kind=group_access_token,managed=true,resource_path=g,resource_type=group,token_name=ci 1798761600"})

	tok.ExpiresAt = at("2027-03-01T00:00:00Z") // rotated
	src.set(metrics.Snapshot{Tokens: []metrics.TokenState{tok}, LastScan: *at("2026-11-25T13:00:00Z")})
	mfs = scrape(t, m.Handler())
	equal(t, "after rotation", series(mfs, "tokenwarden_token_expiry_timestamp_seconds"),
		[]string{"kind=group_access_token,managed=true,resource_path=g,resource_type=group,token_name=ci 1803859200"})
	equal(t, "second scan", series(mfs, "tokenwarden_last_scan_timestamp_seconds"), []string{" 1795611600"})

	src.set(metrics.Snapshot{LastScan: *at("2026-11-25T14:00:00Z")})
	if got := series(scrape(t, m.Handler()), "tokenwarden_token_expiry_timestamp_seconds"); got != nil {
		t.Errorf("a removed token is still reported: %v", got)
	}
}

// Two tokens of one name on one resource (GitLab allows it; an overlap
// rotation makes it happen) must not break the scrape.
func TestSameNameTokensMerge(t *testing.T) {
	src := fixed{
		Tokens: []metrics.TokenState{
			{ResourceType: "group", ResourcePath: "g", Name: "ci", Managed: true, ExpiresAt: at("2026-12-01T00:00:00Z"), LastUsedAt: at("2026-11-25T10:00:00Z"), NextRotation: at("2026-11-20T00:00:00Z")},
			{ResourceType: "group", ResourcePath: "g", Name: "ci", Managed: true, ExpiresAt: at("2027-03-01T00:00:00Z"), NextRotation: at("2027-01-30T00:00:00Z")},
			{ResourceType: "group", ResourcePath: "g", Name: "ci", Managed: false, ExpiresAt: at("2026-12-24T00:00:00Z")},
		},
		Findings: []metrics.FindingCount{{Code: "unused", Severity: "warning", Count: 2}, {Code: "unused", Severity: "warning", Count: 3}},
	}
	mfs := scrape(t, newMetrics(src, "dev", "").Handler())
	equal(t, "expiry", series(mfs, "tokenwarden_token_expiry_timestamp_seconds"), []string{
		"kind=group_access_token,managed=false,resource_path=g,resource_type=group,token_name=ci 1798070400",
		"kind=group_access_token,managed=true,resource_path=g,resource_type=group,token_name=ci 1803859200", // the successor's
	})
	equal(t, "last used", series(mfs, "tokenwarden_token_last_used_timestamp_seconds"), []string{
		"kind=group_access_token,managed=true,resource_path=g,resource_type=group,token_name=ci 1795600800",
	})
	equal(t, "next rotation", series(mfs, "tokenwarden_token_next_rotation_timestamp_seconds"), []string{
		"kind=group_access_token,managed=true,resource_path=g,resource_type=group,token_name=ci 1795132800",
	})
	equal(t, "findings", series(mfs, "tokenwarden_findings"), []string{"code=unused,severity=warning 5"})
	if mf := mfs["promhttp_metric_handler_errors_total"]; mf != nil {
		for _, m := range mf.GetMetric() {
			if m.GetCounter().GetValue() != 0 {
				t.Errorf("scrape errors: %v", m)
			}
		}
	}
}

func TestRotationCounter(t *testing.T) {
	m := newMetrics(fixed{}, "dev", "")
	zero := series(scrape(t, m.Handler()), "tokenwarden_rotations_total")
	equal(t, "before any rotation", zero, []string{
		"result=done,strategy=overlap 0", "result=failed,strategy=overlap 0",
		"result=done,strategy=rotate 0", "result=failed,strategy=rotate 0",
		"result=done,strategy=self 0", "result=failed,strategy=self 0",
	})
	m.Rotated("overlap", metrics.ResultDone)
	m.Rotated("overlap", metrics.ResultDone)
	m.Rotated("self", metrics.ResultFailed)
	equal(t, "after three", series(scrape(t, m.Handler()), "tokenwarden_rotations_total"), []string{
		"result=done,strategy=overlap 2", "result=failed,strategy=overlap 0",
		"result=done,strategy=rotate 0", "result=failed,strategy=rotate 0",
		"result=done,strategy=self 0", "result=failed,strategy=self 1",
	})
}

// Observe is the GitLab client's OnResponse hook; here against the emulator.
func TestGitLabRequestCounter(t *testing.T) {
	_, url := simtest.Start(t, sim.Options{RootToken: "glpat-root-metrics-test-0001"})
	m := newMetrics(fixed{}, "dev", "")
	c, err := gitlab.New(gitlab.Config{URL: url, Token: secret.New("glpat-root-metrics-test-0001"), OnResponse: m.Observe})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Group(ctx, "no/such/group"); err == nil {
		t.Fatal("found a group that does not exist")
	}
	m.Observe("brew", 418) // not a method GitLab's API uses
	mfs := scrape(t, m.Handler())
	equal(t, "requests", series(mfs, "tokenwarden_gitlab_requests_total"), []string{
		"code=200,method=GET 2", "code=404,method=GET 1", "code=418,method=OTHER 1",
	})
	if strings.Contains(scrapeText(t, m.Handler()), "glpat-root-metrics-test-0001") {
		t.Error("the token is in /metrics")
	}
}

// Only the documented labels exist, so no secret, id or URL can slip into
// a label; and the default registry is left alone.
func TestLabelsAndPrivateRegistry(t *testing.T) {
	exp := at("2027-01-01T00:00:00Z")
	m := newMetrics(fixed{Tokens: []metrics.TokenState{
		{ResourceType: "group", ResourcePath: "g", Name: "ci", Managed: true, ExpiresAt: exp, LastUsedAt: exp, NextRotation: exp},
	}, Findings: []metrics.FindingCount{{Code: "unused", Severity: "warning", Count: 1}}}, "dev", "r")
	m.Observe("GET", 200)
	want := map[string]string{
		"tokenwarden_token_expiry_timestamp_seconds":        "kind,managed,resource_path,resource_type,token_name",
		"tokenwarden_token_last_used_timestamp_seconds":     "kind,managed,resource_path,resource_type,token_name",
		"tokenwarden_token_next_rotation_timestamp_seconds": "kind,managed,resource_path,resource_type,token_name",
		"tokenwarden_findings":                              "code,severity",
		"tokenwarden_last_scan_timestamp_seconds":           "",
		"tokenwarden_build_info":                            "goversion,revision,version",
		"tokenwarden_rotations_total":                       "result,strategy",
		"tokenwarden_gitlab_requests_total":                 "code,method",
	}
	mfs := scrape(t, m.Handler())
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "tokenwarden_") {
			continue
		}
		labels, ok := want[name]
		if !ok {
			t.Errorf("undocumented metric %s", name)
			continue
		}
		for _, s := range mf.GetMetric() {
			var names []string
			for _, l := range s.GetLabel() {
				names = append(names, l.GetName())
			}
			sort.Strings(names)
			if got := strings.Join(names, ","); got != labels {
				t.Errorf("%s labels = %s, want %s", name, got, labels)
			}
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("metric %s missing", name)
	}
	def, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range def {
		if strings.HasPrefix(mf.GetName(), "tokenwarden_") {
			t.Errorf("%s registered on the default registry", mf.GetName())
		}
	}
}

func scrapeText(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// The managing token has its own gauges: its expiry (the alert rule in the
// README fires on it) and whether GitLab still accepts it.
func TestManagingTokenGauges(t *testing.T) {
	src := &state{}
	m := newMetrics(src, "dev", "")
	mfs := scrape(t, m.Handler())
	if got := series(mfs, "tokenwarden_managing_token_expiry_timestamp_seconds"); got != nil {
		t.Errorf("managing token series before the first check: %v", got)
	}
	src.set(metrics.Snapshot{Managing: &metrics.ManagingState{Name: "tokenwarden", ExpiresAt: at("2026-12-10T00:00:00Z"), Valid: true}})
	mfs = scrape(t, m.Handler())
	equal(t, "expiry", series(mfs, "tokenwarden_managing_token_expiry_timestamp_seconds"), []string{"token_name=tokenwarden 1796860800"})
	equal(t, "valid", series(mfs, "tokenwarden_managing_token_valid"), []string{" 1"})
	src.set(metrics.Snapshot{Managing: &metrics.ManagingState{Name: "tokenwarden", ExpiresAt: at("2026-12-10T00:00:00Z")}})
	equal(t, "revoked", series(scrape(t, m.Handler()), "tokenwarden_managing_token_valid"), []string{" 0"})
	if mf := mfs["tokenwarden_managing_token_expiry_timestamp_seconds"]; mf.GetType() != dto.MetricType_GAUGE || mf.GetHelp() == "" {
		t.Errorf("managing expiry: not a gauge with help")
	}
}

// testMetrics is /metrics as serve builds it: the state collector over a
// source and both counters.
type testMetrics struct {
	metrics.Rotations
	metrics.Requests
	h http.Handler
}

func (m testMetrics) Handler() http.Handler { return m.h }

func newMetrics(src metrics.Source, version, revision string) testMetrics {
	rot, req := metrics.NewRotations("overlap", "rotate", "self"), metrics.NewRequests()
	return testMetrics{rot, req, metrics.Handler(version, revision, metrics.NewStateCollector(src), rot, req)}
}

// A deploy token and a group access token of one name on one group are two
// series, told apart by kind (issue 12).
func TestKindLabel(t *testing.T) {
	src := fixed{Tokens: []metrics.TokenState{
		{ResourceType: "group", ResourcePath: "g", Name: "pull", ExpiresAt: at("2026-12-01T00:00:00Z")},
		{Kind: "deploy_token", ResourceType: "group", ResourcePath: "g", Name: "pull", ExpiresAt: at("2027-01-01T00:00:00Z")},
	}}
	equal(t, "expiry", series(scrape(t, newMetrics(src, "dev", "").Handler()), "tokenwarden_token_expiry_timestamp_seconds"), []string{
		"kind=deploy_token,managed=false,resource_path=g,resource_type=group,token_name=pull 1798761600",
		"kind=group_access_token,managed=false,resource_path=g,resource_type=group,token_name=pull 1796083200",
	})
}
