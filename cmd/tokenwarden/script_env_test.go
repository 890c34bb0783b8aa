package main

import (
	"github.com/rogpeppe/go-internal/testscript"
)

// scriptSetup prepares each script's environment. Commands that need an
// emulated GitLab start one with the `sim` script command (see scriptCmds).
func scriptSetup(env *testscript.Env) error {
	env.Setenv("NO_COLOR", "1")
	return nil
}

// scriptCmds are the custom testscript commands shared by all scripts.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){}
}
