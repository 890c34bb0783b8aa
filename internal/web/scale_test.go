package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/web"
)

// bigState is a scan of n tokens: 10 per project, 10 projects per group,
// one in ten expired, the first in each project managed.
func bigState(n int) daemon.State {
	st := daemon.State{Scanned: true, ScannedAt: now}
	for i := range n {
		grp := fmt.Sprintf("group-%d", i/100)
		tok := gitlab.Token{ID: int64(i + 1), Name: fmt.Sprintf("deploy-%d", i),
			Resource:  gitlab.Resource{Type: "project", ID: int64(i/10 + 1), Path: fmt.Sprintf("%s/project-%d", grp, i/10%10)},
			ExpiresAt: at(i%90 - 10), CreatedAt: now.AddDate(0, -3, 0), Active: i%10 != 0, Scopes: []string{"read_api"}}
		row := daemon.Token{Row: policy.Evaluated(tok, now, policy.DefaultThresholds())}
		if i%10 == 1 {
			row.Ref = fmt.Sprintf("project/%s:%s", tok.Resource.Path, tok.Name)
			renew := now.AddDate(0, 0, i%30)
			row.NextRotation = &renew
		}
		st.Tokens = append(st.Tokens, row)
	}
	return st
}

func bigSite(tb testing.TB, n int) http.Handler {
	tb.Helper()
	h, _ := bigSiteBackend(tb, n)
	return h
}

func bigSiteBackend(tb testing.TB, n int) (http.Handler, *backend) {
	tb.Helper()
	st := openJournal(tb)
	be := &backend{ready: true, state: bigState(n)}
	h, err := web.NewServer(web.Options{Backend: be, Store: st, Password: secret.New(password), Clock: clock.NewFake(now)})
	if err != nil {
		tb.Fatal(err)
	}
	return h, be
}

// The overview's counts and the tokens page's orders are kept between
// requests; a new scan shows at once.
func TestPagesFollowANewScan(t *testing.T) {
	h, be := bigSiteBackend(t, 2500)
	active := regexp.MustCompile(`<span class="n">(\d+)</span> <span class="badge state-active">`)
	first := active.FindStringSubmatch(get(t, h, "/"))
	get(t, h, "/tokens?sort=name")
	next := bigState(300)
	next.ScannedAt = now.Add(time.Hour)
	be.mu.Lock()
	be.state = next
	be.mu.Unlock()
	second := active.FindStringSubmatch(get(t, h, "/"))
	if first == nil || second == nil || first[1] == second[1] {
		t.Errorf("active tokens on the overview: %v, then after a scan of 300 tokens %v", first, second)
	}
	if body := get(t, h, "/tokens?sort=name"); !strings.Contains(body, "of 300 matching") || strings.Contains(body, "deploy-2499") {
		t.Error("the tokens page still shows the previous scan")
	}
}

func get(tb testing.TB, h http.Handler, path string) string {
	tb.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer "+password)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		tb.Fatalf("GET %s: %d", path, w.Code)
	}
	return w.Body.String()
}

var rowLink = regexp.MustCompile(`<th scope="row"><a href="/tokens/[a-z_]+/\d+">`)

// The tokens page shows one page of the rows that match, with links to the
// pages around it that keep the filters; q filters by name or path.
func TestTokensPageIsPaginatedOnTheServer(t *testing.T) {
	h := bigSite(t, 2500)
	body := get(t, h, "/tokens")
	if n := len(rowLink.FindAllString(body, -1)); n != 100 {
		t.Errorf("/tokens: %d rows, want 100", n)
	}
	if !strings.Contains(body, "Showing 1–100 of 2500 matching (2500 token(s) in all), page 1 of 25.") ||
		!strings.Contains(body, `<a href="/tokens?page=2" rel="next">`) || strings.Contains(body, `rel="prev"`) {
		t.Errorf("/tokens: no status or pager:\n%s", body[strings.Index(body, "<h1>"):])
	}

	// 250 managed tokens (one in ten), 100 a page: the third page has 50.
	body = get(t, h, "/tokens?state=managed&sort=name&page=3")
	if n := len(rowLink.FindAllString(body, -1)); n != 50 {
		t.Errorf("page 3 of the managed: %d rows, want 50", n)
	}
	if !strings.Contains(body, "Showing 201–250 of 250 matching") ||
		!strings.Contains(body, `<a href="/tokens?page=2&amp;sort=name&amp;state=managed" rel="prev">`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("page 3: wrong status or pager")
	}
	if strings.Contains(body, "<td>no</td>") {
		t.Error("page 3 of the managed shows an unmanaged token")
	}

	// Each sort orders the rows; ties go by resource path, name and id.
	names := regexp.MustCompile(`<a href="/tokens/[a-z_]+/\d+">(deploy-\d+)</a></th>\n<td>project ([^<]+)</td>`)
	rows := names.FindAllStringSubmatch(get(t, h, "/tokens?sort=name&order=desc&per_page=1000"), -1)
	if len(rows) != 1000 {
		t.Fatalf("sort=name: %d rows", len(rows))
	}
	for i := 1; i < len(rows); i++ {
		if a, b := rows[i-1], rows[i]; a[1] < b[1] || a[1] == b[1] && a[2] < b[2] {
			t.Fatalf("sort=name&order=desc: %s %s before %s %s", a[1], a[2], b[1], b[2])
		}
	}
	if body := get(t, h, "/tokens?sort=severity"); strings.Index(body, "sev-critical") > strings.Index(body, "sev-warning") && strings.Contains(body, "sev-warning") {
		t.Error("sort=severity: a warning before the first critical finding")
	}

	// A page past the end shows the last; per_page is bounded.
	if body := get(t, h, "/tokens?page=99"); !strings.Contains(body, "page 25 of 25") {
		t.Error("page 99 does not show the last page")
	}
	if n := len(rowLink.FindAllString(get(t, h, "/tokens?per_page=5000"), -1)); n != 1000 {
		t.Errorf("per_page=5000: %d rows, want at most 1000", n)
	}

	// q: part of a name or a resource path, case-insensitive.
	body = get(t, h, "/tokens?q=DEPLOY-123")
	if n := len(rowLink.FindAllString(body, -1)); n != 11 || !strings.Contains(body, "Showing 11 of 2500 token(s).") {
		t.Errorf("q=DEPLOY-123: %d rows, want 11 (deploy-123, deploy-1230…1239)", n)
	}
	if n := len(rowLink.FindAllString(get(t, h, "/tokens?q=group-7/project-3"), -1)); n != 10 {
		t.Errorf("q=group-7/project-3: %d rows, want 10", n)
	}
}

// BenchmarkPages renders the overview, the tokens page (first page, a
// filtered page, a late page) and a token's page with 110,000 tokens in the
// state. Target: each under 200 ms on the CI machine; this prints, it does
// not assert.
//
//	go test -run '^$' -bench Pages ./internal/web/
func BenchmarkPages(b *testing.B) {
	const n = 110_000
	for _, path := range []string{
		"/",
		"/tokens",
		"/tokens?state=expired&sort=severity&order=desc",
		"/tokens?q=group-500&page=2&per_page=50",
		"/tokens?page=1100",
		fmt.Sprintf("/tokens/project_access_token/%d", n/2),
	} {
		// The name is the path, its slashes (subtest separators) as "|".
		b.Run(strings.ReplaceAll(path, "/", "|"), func(b *testing.B) {
			// The first request after a scan sorts the tokens for the page's
			// order; the ones after reuse it.
			h := bigSite(b, n)
			start := time.Now()
			size := len(get(b, h, path))
			first := time.Since(start)
			b.ResetTimer()
			for b.Loop() {
				size = len(get(b, h, path))
			}
			b.ReportMetric(float64(first.Microseconds())/1000, "first_ms")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
			b.ReportMetric(float64(size)/1024, "KiB")
		})
	}
}

// The overview's timeline table names at most ten tokens a day, then says
// how many more: on a large instance hundreds expire on one day.
func TestOverviewNamesAFewTokensPerDay(t *testing.T) {
	body := get(t, bigSite(t, 2500), "/")
	days := regexp.MustCompile(`<tr><th scope="row">\d{4}-\d\d-\d\d</th><td>(\d+)</td><td>([^<]*)</td>`).FindAllStringSubmatch(body, -1)
	if len(days) == 0 {
		t.Fatal("no timeline table")
	}
	more := 0
	for _, d := range days {
		names := strings.Split(d[2], ", ")
		if len(names) > 11 {
			t.Errorf("%s: %d names", d[0], len(names))
		}
		if strings.HasPrefix(names[len(names)-1], "and ") {
			more++
			if want := fmt.Sprintf("and %s more", strconv.Itoa(atoi(d[1])-10)); names[len(names)-1] != want {
				t.Errorf("%s: ends %q, want %q", d[0], names[len(names)-1], want)
			}
		}
	}
	if more == 0 {
		t.Error("no day says how many more tokens expire")
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
