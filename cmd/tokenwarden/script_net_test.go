package main

import (
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
	"net/http"
	"net/http/httptest"

	"github.com/rogpeppe/go-internal/testscript"
)

// netScriptCmds are script commands for servers that are not GitLab.
//
//	notgitlab hang|html|badjson VAR
//	    starts a server and sets $VAR to its URL: hang accepts connections
//	    and never answers; html answers every request with a web page (200,
//	    text/html); badjson answers every request 200 application/json with
//	    a body cut short.
func netScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"notgitlab": cmdNotGitLab,
	}
}

func cmdNotGitLab(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: notgitlab hang|html|badjson VAR")
	}
	var url string
	switch args[0] {
	case "hang":
		b, err := simtest.NewBlackhole()
		ts.Check(err)
		ts.Defer(b.Close)
		url = b.URL
	case "html", "badjson":
		ctype, body := "text/html; charset=utf-8", "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in</body></html>\n"
		if args[0] == "badjson" {
			ctype, body = "application/json", `{"id": 1, "username": "ro`
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ctype)
			_, _ = w.Write([]byte(body))
		}))
		ts.Defer(srv.Close)
		url = srv.URL
	default:
		ts.Fatalf("notgitlab: unknown kind %q (want hang, html or badjson)", args[0])
	}
	ts.Setenv(args[1], url)
}
