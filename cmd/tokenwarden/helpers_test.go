package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// Helpers shared by this package's Go tests (the scripts' are in
// script_env_test.go).

// startSim starts an emulator for the test at defaultSimNow, with root's
// token simRootToken and what else opts asks for, and returns it and its URL.
func startSim(t *testing.T, opts sim.Options) (*sim.Server, string) {
	t.Helper()
	opts.Clock, opts.RootToken = clock.NewFake(defaultSimNow), simRootToken
	return simtest.Start(t, opts)
}

// writeFile writes content to the file name in dir (mode 0600, see
// simtest.WriteFile) and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	simtest.WriteFile(t, p, content)
	return p
}

// dashboardLine is where serve says its dashboard is.
var dashboardLine = regexp.MustCompile(`dashboard: (http://\S+)/`)

// waitForDashboard waits (see waitFor) until serve's output says where its
// dashboard is, and returns the dashboard's base URL.
func waitForDashboard(t *testing.T, done <-chan error, out *simtest.Buffer) string {
	t.Helper()
	waitFor(t, "the dashboard's address", done, out, func() bool { return dashboardLine.MatchString(out.String()) })
	return dashboardLine.FindStringSubmatch(out.String())[1]
}

// httpGet GETs url, with "Authorization: Bearer bearer" unless bearer is
// empty, and returns the status code and the body. A request that gets no
// answer fails the test.
func httpGet(t *testing.T, url, bearer string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
