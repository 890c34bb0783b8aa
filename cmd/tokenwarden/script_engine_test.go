package main

import (
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

// engineScriptCmds are script commands for the plan/apply/rotate/history scripts.
//
//	expandenv IN OUT   copies IN to OUT with $VARS expanded (config files
//	                   that need the emulator's URL)
func engineScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"expandenv": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: expandenv IN OUT")
			}
			s := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
			ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(s), 0o600))
		},
	}
}
