package sim

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// GET /projects pages by id with pagination=keyset: each page's Link
// rel="next" carries id_after, the last page has none, and every project
// comes once in id order. Offset pagination stops at an offset of 50,000
// projects with GitLab's 405; keyset only orders by id.
func TestConformanceProjectsKeysetPagination(t *testing.T) {
	s, err := New(Options{Clock: clock.NewFake(t0), Seed: 1, RootToken: rootSecret, Groups: 25, ProjectsPerGroup: 10})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	next := regexp.MustCompile(`<([^>]+)>; rel="next"`)

	url := ts.URL + "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=100&simple=true"
	var ids []int64
	pages := 0
	for url != "" {
		r := do(t, "GET", url, rootSecret, "")
		if r.code != 200 {
			t.Fatalf("GET %s: %d %s", url, r.code, r.body)
		}
		pages++
		var page []struct{ ID int64 }
		if err := json.Unmarshal([]byte(r.body), &page); err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			ids = append(ids, p.ID)
		}
		if r.header.Get("X-Total") != "" || r.header.Get("X-Next-Page") != "" {
			t.Errorf("keyset page with offset headers: %v", r.header)
		}
		url = ""
		if m := next.FindStringSubmatch(r.header.Get("Link")); m != nil {
			url = m[1]
			if !regexp.MustCompile(`id_after=\d+`).MatchString(url) {
				t.Errorf("next link without id_after: %s", url)
			}
		}
	}
	if pages != 3 || len(ids) != 250 {
		t.Errorf("%d pages, %d projects; want 3 pages, 250 projects", pages, len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("project %d after %d", ids[i], ids[i-1])
		}
	}

	r := do(t, "GET", ts.URL+"/api/v4/projects?pagination=keyset&order_by=name", rootSecret, "")
	if r.code != 405 || r.body != `{"error":"Keyset pagination is not yet available for this type of request"}` {
		t.Errorf("keyset by name: %d %s", r.code, r.body)
	}
	r = do(t, "GET", ts.URL+"/api/v4/projects?page=501&per_page=100", rootSecret, "")
	if r.code != 405 || !regexp.MustCompile(`maximum allowed offset of 50000 .*keyset pagination`).MatchString(r.body) {
		t.Errorf("offset 50,100: %d %s", r.code, r.body)
	}
	if r := do(t, "GET", ts.URL+"/api/v4/projects?page=500&per_page=100", rootSecret, ""); r.code != 200 || r.body != "[]" {
		t.Errorf("offset 49,900: %d %s", r.code, r.body)
	}
}
