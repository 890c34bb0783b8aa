package sim

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// canSeeGroup reports whether u can read g: a group it is a member of
// (directly or through an ancestor), or an ancestor of anything it is a member
// of. nil u (anonymous) sees nothing: every emulated group is private.
func (s *Server) canSeeGroup(u *user, g *group) bool {
	st := s.st
	if u == nil || g == nil {
		return false
	}
	if u.Admin || st.groupLevel(u, g) > 0 {
		return true
	}
	for _, k := range u.memberships {
		var below *group
		switch k.Kind {
		case "group":
			if st.members[k].Level > 0 {
				below = st.groups[k.ResourceID]
			}
		case "project":
			if p := st.projects[k.ResourceID]; p != nil {
				below = st.groups[p.NamespaceID]
			}
		}
		if below != nil && st.isDescendant(below, g.ID) {
			return true
		}
	}
	return false
}

func (s *Server) canSeeProject(u *user, p *project) bool {
	return u != nil && (u.Admin || s.st.projectLevel(u, p) > 0)
}

// group resolves {id} to a group the caller can see, or answers 404.
func (c *call) group() *group {
	return visible(c, c.s.st.findGroup, c.s.canSeeGroup, "404 Group Not Found")
}

// project resolves {id} to a project the caller can see, or answers 404.
func (c *call) project() *project {
	return visible(c, c.s.st.findProject, c.s.canSeeProject, "404 Project Not Found")
}

// visible resolves {id} (an id or a full path) with find to what the caller
// can see (canSee), or answers 404 notFound and gives nil.
func visible[T any](c *call, find func(string) *T, canSee func(*user, *T) bool, notFound string) *T {
	v := find(c.r.PathValue("id"))
	if v == nil || !canSee(c.user, v) {
		message(c.w, http.StatusNotFound, notFound)
		return nil
	}
	return v
}

func (c *call) boolParam(k string) (bool, bool) {
	v, _, ok := c.p.boolean(k)
	if !ok {
		paramError(c.w, k+" is invalid")
	}
	return v, ok
}

// listed is what a group or project list searches (name and path) and
// breaks ties on (id).
type listed interface {
	listing() (id int64, name, path string)
}

func (g *group) listing() (int64, string, string)   { return g.ID, g.Name, g.Path }
func (p *project) listing() (int64, string, string) { return p.ID, p.Name, p.Path }

// searchAndSort gives the items of a group or project list that the call's
// search parameter matches (in the name or path, any case), in the order of
// its order_by — one of orderBys, defaultOrder when absent; compare gives 0
// for ties, which go by id — and sort (defaultSort when absent). An order_by
// not in orderBys answers 400 and gives false.
func searchAndSort[T listed](c *call, items []T, orderBys []string, defaultOrder, defaultSort string, compare func(orderBy string, a, b T) int) ([]T, bool) {
	search := strings.ToLower(c.p.str("search"))
	orderBy := cmp.Or(c.p.str("order_by"), defaultOrder)
	if !slices.Contains(orderBys, orderBy) {
		paramError(c.w, "order_by does not have a valid value")
		return nil, false
	}
	desc := cmp.Or(c.p.str("sort"), defaultSort) == "desc"
	var out []T
	for _, v := range items {
		_, name, path := v.listing()
		if search == "" || strings.Contains(strings.ToLower(name), search) || strings.Contains(strings.ToLower(path), search) {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b T) int {
		aID, _, _ := a.listing()
		bID, _, _ := b.listing()
		return ordered(compare(orderBy, a, b), aID, bID, desc)
	})
	return out, true
}

func (c *call) writeGroups(gs []*group) {
	out, ok := searchAndSort(c, gs, []string{"name", "path", "id", "similarity"}, "name", "asc", func(orderBy string, a, b *group) int {
		switch orderBy {
		case "path":
			return cmp.Compare(a.Path, b.Path)
		case "id":
			return cmp.Compare(a.ID, b.ID)
		}
		return cmp.Compare(strings.ToLower(c.s.st.groupFullName(a)), strings.ToLower(c.s.st.groupFullName(b)))
	})
	if ok {
		writeViews(c, out, func(g *group) groupJSON { return c.s.groupView(c.base, g) })
	}
}

func (s *Server) listGroups(c *call) {
	topOnly, ok := c.boolParam("top_level_only")
	if !ok {
		return
	}
	if _, ok := c.boolParam("all_available"); !ok {
		return
	}
	keep, ok := c.groupListFilter()
	if !ok {
		return
	}
	candidates := s.st.groupList
	if topOnly {
		candidates = s.st.subgroups[0]
	}
	c.writeGroups(s.listedGroups(c, keep, candidates))
}

func (s *Server) getGroup(c *call) {
	if g := c.group(); g != nil {
		writeJSON(c.w, http.StatusOK, s.groupView(c.base, g))
	}
}

func (s *Server) listSubgroups(all bool) func(*call) {
	return func(c *call) {
		parent := c.group()
		if parent == nil {
			return
		}
		keep, ok := c.groupListFilter()
		if !ok {
			return
		}
		candidates := s.st.subgroups[parent.ID]
		if all {
			candidates = s.st.descendants(parent)
		}
		c.writeGroups(s.listedGroups(c, keep, candidates))
	}
}

func (c *call) writeProjects(ps []*project) {
	orderBys := []string{"id", "name", "path", "created_at", "updated_at", "last_activity_at"}
	out, ok := searchAndSort(c, ps, orderBys, "created_at", "desc", func(orderBy string, a, b *project) int {
		switch orderBy {
		case "name":
			return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "path":
			return cmp.Compare(a.Path, b.Path)
		case "id":
			return 0
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	if ok {
		writeViews(c, out, func(p *project) projectJSON { return c.s.projectView(c.base, p) })
	}
}

func (s *Server) listGroupProjects(c *call) {
	g := c.group()
	if g == nil {
		return
	}
	sub, ok := c.boolParam("include_subgroups")
	if !ok {
		return
	}
	groups := []*group{g}
	if sub {
		groups = append(groups, s.st.descendants(g)...)
	}
	var ps []*project
	for _, ns := range groups {
		for _, p := range s.st.nsProjects[ns.ID] {
			if s.canSeeProject(c.user, p) {
				ps = append(ps, p)
			}
		}
	}
	c.writeProjects(ps)
}

func (s *Server) listProjects(c *call) {
	var ps []*project
	switch {
	case c.user == nil:
	case c.user.Admin:
		ps = s.st.projectList
	default:
		ps = s.st.memberProjects(c.user)
	}
	if c.p.str("pagination") == "keyset" {
		c.writeProjectsKeyset(ps)
		return
	}
	// GitLab refuses offset pagination of projects past 50,000 records
	// (max_offset in lib/api/helpers/pagination_strategies.rb).
	page, _ := strconv.Atoi(c.p.str("page"))
	perPage, _ := strconv.Atoi(c.p.str("per_page"))
	if perPage < 1 {
		perPage = 20
	}
	if max(page, 1)*min(perPage, 100) > maxProjectOffset {
		writeJSON(c.w, http.StatusMethodNotAllowed, map[string]string{"error": "Offset pagination has a maximum allowed offset of 50000 for requests that return objects of type Project. Remaining records can be retrieved using keyset pagination."})
		return
	}
	c.writeProjects(ps)
}

const maxProjectOffset = 50000

// writeProjectsKeyset answers GET /projects?pagination=keyset: ordered by
// id only, the page after id_after (or before id_before), and a Link
// rel="next" to the page after it while there is one — no page numbers, no
// totals.
func (c *call) writeProjectsKeyset(ps []*project) {
	if cmp.Or(c.p.str("order_by"), "id") != "id" {
		writeJSON(c.w, http.StatusMethodNotAllowed, map[string]string{"error": "Keyset pagination is not yet available for this type of request"})
		return
	}
	desc := cmp.Or(c.p.str("sort"), "desc") == "desc"
	perPage, _ := strconv.Atoi(c.p.str("per_page"))
	if perPage < 1 {
		perPage = 20
	}
	perPage = min(perPage, 100)
	after, _ := strconv.ParseInt(c.p.str("id_after"), 10, 64)
	before, _ := strconv.ParseInt(c.p.str("id_before"), 10, 64)
	out := make([]*project, 0, perPage+1)
	for _, p := range ps {
		if (after == 0 || p.ID > after) && (before == 0 || p.ID < before) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *project) int { return ordered(0, a.ID, b.ID, desc) })
	h := c.w.Header()
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	if len(out) > perPage {
		out = out[:perPage]
		q := url.Values{}
		for k, vs := range c.r.URL.Query() {
			q[k] = vs
		}
		last := strconv.FormatInt(out[perPage-1].ID, 10)
		if desc {
			q.Set("id_before", last)
		} else {
			q.Set("id_after", last)
		}
		q.Set("per_page", strconv.Itoa(perPage))
		h.Set("Link", "<"+c.base+c.r.URL.EscapedPath()+"?"+q.Encode()+`>; rel="next"`)
	}
	views := make([]projectJSON, 0, len(out))
	for _, p := range out {
		views = append(views, c.s.projectView(c.base, p))
	}
	writeJSON(c.w, http.StatusOK, views)
}

func (s *Server) getProject(c *call) {
	if p := c.project(); p != nil {
		writeJSON(c.w, http.StatusOK, s.projectView(c.base, p))
	}
}

var pathRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$`)

func (s *Server) createGroup(c *call) {
	name, path := c.p.str("name"), c.p.str("path")
	if miss := missing(c.p, "name", "path"); miss != "" {
		paramError(c.w, miss)
		return
	}
	var parentID int64
	if v, ok := c.p.get("parent_id"); ok && v != "" {
		id, ok := parseID(v)
		parent := s.st.groups[id]
		if !ok || parent == nil || !s.canSeeGroup(c.user, parent) {
			message(c.w, http.StatusNotFound, "404 Group Not Found")
			return
		}
		if !c.admin() && s.st.groupLevel(c.user, parent) < 40 {
			message(c.w, http.StatusForbidden, "403 Forbidden")
			return
		}
		parentID = id
	}
	g, err := s.st.addGroup(&group{Name: name, Path: path, ParentID: parentID, CreatedAt: c.now})
	if err != nil {
		message(c.w, http.StatusBadRequest, map[string][]string{"path": {err.Error()}})
		return
	}
	s.st.setMember(memberKey{"group", g.ID, c.user.ID}, 50, c.now)
	writeJSON(c.w, http.StatusCreated, s.groupView(c.base, g))
}

func (s *Server) createProject(c *call) {
	name, path := c.p.str("name"), c.p.str("path")
	if name == "" && path == "" {
		paramError(c.w, "name, path are missing, at least one parameter must be provided")
		return
	}
	name, path = cmp.Or(name, path), cmp.Or(path, slug(name))
	id, _ := parseID(c.p.str("namespace_id"))
	ns := s.st.groups[id]
	if ns == nil || !s.canSeeGroup(c.user, ns) {
		message(c.w, http.StatusNotFound, "404 Namespace Not Found")
		return
	}
	if !c.admin() && s.st.groupLevel(c.user, ns) < 40 {
		message(c.w, http.StatusForbidden, "403 Forbidden")
		return
	}
	p, err := s.st.addProject(&project{Name: name, Path: path, NamespaceID: id, CreatedAt: c.now})
	if err != nil {
		message(c.w, http.StatusBadRequest, map[string][]string{"path": {err.Error()}})
		return
	}
	writeJSON(c.w, http.StatusCreated, s.projectView(c.base, p))
}

func slug(name string) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9_.-]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// missing builds Grape's "a is missing, b is missing" for absent (or empty) required params.
func missing(p params, keys ...string) string {
	var out []string
	for _, k := range keys {
		if vs := p.v[k]; len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
			out = append(out, k+" is missing")
		}
	}
	return strings.Join(out, ", ")
}

// ordered finishes a list's sort: ties broken by id, as GitLab does, and the
// whole order reversed for sort=desc.
func ordered(r int, aID, bID int64, desc bool) int {
	if r == 0 {
		r = cmp.Compare(aID, bID)
	}
	if desc {
		r = -r
	}
	return r
}

// checkPath is GitLab's validation of a new group's or project's path:
// its shape, then that none of its siblings has it already (in any case).
func checkPath[T listed](path string, siblings []T) error {
	if !pathRE.MatchString(path) {
		return errf("can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'")
	}
	if slices.ContainsFunc(siblings, func(v T) bool { _, _, p := v.listing(); return strings.EqualFold(p, path) }) {
		return errf("has already been taken")
	}
	return nil
}
