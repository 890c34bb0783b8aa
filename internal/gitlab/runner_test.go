package gitlab_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// A runner's details name its type's group or project; a reset answers a
// new token that verify accepts as that runner's, and kills the old one;
// a dead token's verify error does not quote it.
func TestRunnerResetAndVerify(t *testing.T) {
	srv, url := startSim(t)
	g, err := srv.CreateGroup("platform", 0)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := srv.CreateProject("app", g.ID)
	r, old, err := srv.CreateRunner(sim.RunnerSpec{Description: "build-1", Type: "project_type", ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url, rootToken, nil)
	ctx := context.Background()

	d, err := c.RunnerDetails(ctx, r.ID)
	if err != nil || d.ID != r.ID || d.Name != "build-1" || d.Kind != gitlab.KindRunnerToken || d.Resource.Type != "project" || d.Resource.Path != "platform/app" || d.ExpiresAt != nil {
		t.Fatalf("RunnerDetails = %+v, %v", d, err)
	}
	if _, err := c.RunnerDetails(ctx, 999); !gitlab.IsStatus(err, http.StatusNotFound) {
		t.Errorf("RunnerDetails of an unknown runner: %v, want 404", err)
	}

	sec, exp, err := c.ResetRunnerToken(ctx, r.ID)
	if err != nil || !strings.HasPrefix(sec.Reveal(), "glrt-") || exp != nil {
		t.Fatalf("ResetRunnerToken = %v, %v; want a glrt- token that never expires", exp, err)
	}
	id, exp, err := c.VerifyRunnerToken(ctx, sec)
	if err != nil || id != r.ID || exp != nil {
		t.Fatalf("VerifyRunnerToken(new) = %d, %v, %v; want runner %d", id, exp, err, r.ID)
	}
	_, _, err = c.VerifyRunnerToken(ctx, secret.New(old))
	if !gitlab.IsStatus(err, http.StatusForbidden) || strings.Contains(err.Error(), old) {
		t.Fatalf("VerifyRunnerToken(old) = %v; want 403 without the token", err)
	}
}
