package gitlab_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// One variables API for groups and projects: the same calls read, create
// and update a variable of either, by path or by id, per environment scope.
func TestVariablesOfGroupsAndProjects(t *testing.T) {
	srv, url := simtest.Start(t, sim.Options{Clock: clock.NewFake(simNow), RootToken: rootToken})
	g, _ := srv.CreateGroup("platform", 0)
	p, _ := srv.CreateProject("app.v2", g.ID) // a dot: the path must be escaped
	c := newClient(t, url, rootToken, nil)
	ctx := context.Background()

	for _, res := range []gitlab.Resource{
		{Type: "group", Path: "platform"},
		{Type: "project", Path: "platform/app.v2"},
		{Type: "project", ID: p.ID, Path: "platform/app.v2"},
	} {
		t.Run(res.Type+"/"+res.Path, func(t *testing.T) {
			key := "K_" + strings.ToUpper(res.Type)
			if res.ID != 0 {
				key += "_BY_ID"
			}
			if _, err := c.Variable(ctx, res, key, "*"); !gitlab.IsNotFound(err) {
				t.Fatalf("reading a missing variable: %v, want not found", err)
			}
			want := gitlab.Variable{Key: key, Value: "glpat-valuevaluevalue01", Masked: true, Protected: true,
				Scope: "production", Description: "managed"}
			got, err := c.CreateVariable(ctx, res, want)
			if err != nil || got != want {
				t.Fatalf("CreateVariable = %+v, %v; want %+v", got, err, want)
			}
			_, err = c.CreateVariable(ctx, res, want)
			if ge, ok := gitlab.AsError(err); !ok || ge.Status != http.StatusBadRequest || !strings.Contains(ge.APIMessage, "has already been taken") {
				t.Fatalf("creating it again: %v; want 400 has already been taken", err)
			}
			if _, err := c.Variable(ctx, res, key, "*"); !gitlab.IsNotFound(err) {
				t.Fatalf("the variable exists in scope production only, but scope * reads %v", err)
			}
			want.Value, want.Masked, want.Description = "a value with spaces", false, "changed"
			if got, err = c.UpdateVariable(ctx, res, want); err != nil || got != want {
				t.Fatalf("UpdateVariable = %+v, %v; want %+v", got, err, want)
			}
			if got, err = c.Variable(ctx, res, key, "production"); err != nil || got != want {
				t.Fatalf("Variable = %+v, %v; want %+v", got, err, want)
			}
			hidden := gitlab.Variable{Key: key + "_H", Value: "glpat-hiddenhiddenhid", Hidden: true, Masked: true, Scope: "*"}
			if _, err := c.CreateVariable(ctx, res, hidden); err != nil {
				t.Fatal(err)
			}
			if got, err = c.Variable(ctx, res, hidden.Key, "*"); err != nil || !got.Hidden || got.Value != "" {
				t.Fatalf("hidden variable reads %+v, %v; want hidden without its value", got, err)
			}
		})
	}
	if v, ok := srv.Variable("project", p.ID, "K_PROJECT", "production"); !ok || v.Value != "a value with spaces" {
		t.Errorf("the emulator holds %+v, %v", v, ok)
	}
}
