package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"gitlab.com/tokenwarden/tokenwarden/internal/kubetest"
)

// TestMain lets testscript run the tokenwarden binary in-process.
func TestMain(m *testing.M) {
	// kubetest.M stops the Kubernetes API server the scripts share (if one
	// started) when the tests end.
	testscript.Main(kubetest.M{M: m}, map[string]func(){
		"tokenwarden": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               scriptSetup,
		Cmds:                mergeCmds(scriptCmds(), engineScriptCmds(), netScriptCmds(), ciScriptCmds(), kubeScriptCmds()),
		Condition:           kubeCondition,
	})
}

func mergeCmds(sets ...map[string]func(*testscript.TestScript, bool, []string)) map[string]func(*testscript.TestScript, bool, []string) {
	out := map[string]func(*testscript.TestScript, bool, []string){}
	for _, set := range sets {
		for k, v := range set {
			out[k] = v
		}
	}
	return out
}
