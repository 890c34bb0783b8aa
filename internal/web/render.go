package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

var pageNames = []string{"login", "overview", "tokens", "token", "journal", "error"}

type pages map[string]*template.Template

// timeFormat renders a time.Time or a *time.Time in layout: "—" for a zero
// time, noTime for a nil pointer.
func timeFormat(layout, noTime string) func(any) string {
	return func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format(layout)
		case *time.Time:
			if v == nil {
				return noTime
			}
			return v.UTC().Format(layout)
		}
		return ""
	}
}

var funcs = template.FuncMap{
	"date":     timeFormat("2006-01-02", "never"),
	"datetime": timeFormat("2006-01-02 15:04 UTC", "—"),
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"role":     gitlab.AccessLevelName,
	"join":     strings.Join,
	"days": func(d *int) string {
		if d == nil {
			return "no expiry"
		}
		return fmt.Sprintf("%d", *d)
	},
	"f1": func(f float64) string { return fmt.Sprintf("%.1f", f) },
	// tokenPath is a token's page: kind and id, since GitLab numbers each
	// kind of credential on its own.
	"tokenPath": tokenPath,
}

func parsePages() (pages, error) {
	p := pages{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p[name] = t
	}
	return p, nil
}

// page is what every template gets.
type page struct {
	Title    string
	Nav      string
	LoggedIn bool
	CSRF     string
	Flash    string
	ReadOnly bool
	Version  string
	Now      time.Time
	Data     any
	// Banner warns about the token tokenwarden runs with (expiring soon,
	// expired or revoked) on every page; "" when it is fine.
	Banner string
}

// render executes the named page into a buffer first, so that a template
// error never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, sess *session, data any) {
	pg := page{Title: titles[name], Nav: name, ReadOnly: s.o.ReadOnly, Version: s.o.Version, Now: s.o.Clock.Now(), Data: data}
	if sess != nil {
		pg.LoggedIn, pg.CSRF = true, sess.csrf
		pg.Banner = s.o.Backend.State().ManagingBanner()
		if !sess.bearer {
			pg.Flash = s.auth.takeFlash(sess)
		}
	}
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, pg); err != nil {
		s.o.Log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error while rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

var titles = map[string]string{
	"login": "Log in", "overview": "Overview", "tokens": "Tokens", "token": "Token",
	"journal": "Journal", "error": "Error",
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, sess *session, code int, msg string) {
	s.render(w, r, code, "error", sess, msg)
}
