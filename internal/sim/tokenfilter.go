package sim

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// filterTokens applies the list filters shared by access token endpoints.
func (c *call) filterTokens(ts []*token) ([]*token, bool) {
	today := dateOf(c.now)
	state, hasState := c.p.get("state")
	if hasState && state != "active" && state != "inactive" {
		paramError(c.w, "state does not have a valid value")
		return nil, false
	}
	revoked, hasRevoked, ok := c.p.boolean("revoked")
	if !ok {
		paramError(c.w, "revoked is invalid")
		return nil, false
	}
	dates := map[string]time.Time{}
	for _, k := range []string{"created_after", "created_before", "last_used_after", "last_used_before", "expires_after", "expires_before"} {
		v, ok := c.p.get(k)
		if !ok {
			continue
		}
		t, err := parseTimeParam(v)
		if err != nil {
			paramError(c.w, k+" is invalid")
			return nil, false
		}
		dates[k] = t
	}
	sortBy := c.p.str("sort")
	if sortBy != "" && !slices.Contains([]string{"created_asc", "created_desc", "expires_asc", "expires_desc", "last_used_asc", "last_used_desc", "name_asc", "name_desc", "id_asc", "id_desc"}, sortBy) {
		paramError(c.w, "sort does not have a valid value")
		return nil, false
	}
	search, hasSearch := c.p.get("search")
	var out []*token
	for _, t := range ts {
		if hasState {
			active := !t.Revoked && (t.ExpiresAt == nil || t.ExpiresAt.After(today))
			inactive := t.Revoked || (t.ExpiresAt != nil && t.ExpiresAt.Before(today))
			if (state == "active" && !active) || (state == "inactive" && !inactive) {
				continue
			}
		}
		if hasRevoked && t.Revoked != revoked {
			continue
		}
		if hasSearch && !searchMatches(t.Name, search) {
			continue
		}
		if !dateFilters(t, dates) {
			continue
		}
		out = append(out, t)
	}
	sortTokens(out, sortBy)
	return out, true
}

// searchMatches is GitLab's fuzzy search on a token's name
// (Gitlab::SQL::Pattern): the query, with its whitespace squished, is split
// into words ("quoted phrases" stay one word); every word of at least 3
// characters must occur in the name, case-insensitively, in any order.
// Without such a word the whole query must equal the name (ILIKE without
// wildcards). So "deploy prod" finds "prod-deploy", and "ci" finds only "ci".
func searchMatches(name, query string) bool {
	q := strings.Join(strings.Fields(query), " ")
	if q == "" {
		return true
	}
	var rest strings.Builder
	var terms []string
	for i := 0; i < len(q); i++ {
		if q[i] == '"' && (i == 0 || q[i-1] == ' ') {
			if j := strings.IndexByte(q[i+1:], '"'); j > 0 {
				end := i + 1 + j
				if end+1 == len(q) || q[end+1] == ' ' {
					terms = append(terms, q[i+1:end])
					i = end
					continue
				}
			}
		}
		rest.WriteByte(q[i])
	}
	terms = append(strings.Fields(rest.String()), terms...)
	lower := strings.ToLower(name)
	matched := false
	for _, w := range terms {
		if utf8.RuneCountInString(w) < 3 {
			continue
		}
		if !strings.Contains(lower, strings.ToLower(w)) {
			return false
		}
		matched = true
	}
	return matched || strings.EqualFold(name, q)
}

func dateFilters(t *token, d map[string]time.Time) bool {
	if v, ok := d["created_after"]; ok && t.CreatedAt.Before(v) {
		return false
	}
	if v, ok := d["created_before"]; ok && t.CreatedAt.After(v) {
		return false
	}
	if v, ok := d["last_used_after"]; ok && (t.LastUsedAt == nil || t.LastUsedAt.Before(v)) {
		return false
	}
	if v, ok := d["last_used_before"]; ok && (t.LastUsedAt == nil || t.LastUsedAt.After(v)) {
		return false
	}
	if v, ok := d["expires_after"]; ok && (t.ExpiresAt == nil || t.ExpiresAt.Before(v)) {
		return false
	}
	if v, ok := d["expires_before"]; ok && (t.ExpiresAt == nil || !t.ExpiresAt.Before(v)) {
		return false
	}
	return true
}

func parseTimeParam(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

func sortTokens(ts []*token, by string) {
	key := func(t *time.Time) int64 {
		if t == nil {
			return 1 << 62 // NULLs last
		}
		return t.Unix()
	}
	slices.SortStableFunc(ts, func(a, b *token) int {
		var r int
		switch strings.TrimSuffix(strings.TrimSuffix(by, "_asc"), "_desc") {
		case "created":
			r = a.CreatedAt.Compare(b.CreatedAt)
		case "expires":
			r = cmp.Compare(key(a.ExpiresAt), key(b.ExpiresAt))
		case "last_used":
			r = cmp.Compare(key(a.LastUsedAt), key(b.LastUsedAt))
		case "name":
			r = cmp.Compare(a.Name, b.Name)
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if strings.HasSuffix(by, "_desc") {
			r = -r
		}
		return r
	})
}
