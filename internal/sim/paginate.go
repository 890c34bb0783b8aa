package sim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// countLimit: above this many records GitLab stops counting (no X-Total,
// X-Total-Pages or rel="last").
const countLimit = 10000

// paginate writes GitLab's offset pagination headers for items and returns
// the requested page. ok is false when it already answered with a 400.
func paginate[T any](c *call, items []T) ([]T, bool) {
	page, perPage := 1, 20
	if v, ok := c.p.get("page"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			paramError(c.w, "page is invalid")
			return nil, false
		}
		page = max(n, 1)
	}
	if v, ok := c.p.get("per_page"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			paramError(c.w, "per_page is invalid")
			return nil, false
		}
		if n >= 1 {
			perPage = min(n, 100)
		}
	}
	total := len(items)
	pages := max((total+perPage-1)/perPage, 1)
	counted := total <= countLimit

	h := c.w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	next, prev := "", ""
	if page*perPage < total {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 {
		prev = strconv.Itoa(min(page-1, pages))
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	if counted {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
	}
	var links []string
	link := func(p, rel string) {
		links = append(links, "<"+pageURL(c, p, perPage)+`>; rel="`+rel+`"`)
	}
	if prev != "" {
		link(prev, "prev")
	}
	if next != "" {
		link(next, "next")
	}
	link("1", "first")
	if counted {
		link(strconv.Itoa(pages), "last")
	}
	h.Set("Link", strings.Join(links, ", "))

	start := (page - 1) * perPage
	if start >= total {
		return []T{}, true
	}
	return items[start:min(start+perPage, total)], true
}

func pageURL(c *call, page string, perPage int) string {
	q := url.Values{}
	for k, vs := range c.r.URL.Query() {
		q[k] = vs
	}
	q.Set("page", page)
	q.Set("per_page", strconv.Itoa(perPage))
	return c.base + c.r.URL.EscapedPath() + "?" + q.Encode()
}

// writeViews paginates items and writes the page, each item as view makes
// it, as JSON.
func writeViews[T, V any](c *call, items []T, view func(T) V) {
	page, ok := paginate(c, items)
	if !ok {
		return
	}
	views := make([]V, 0, len(page))
	for _, it := range page {
		views = append(views, view(it))
	}
	writeJSON(c.w, http.StatusOK, views)
}
