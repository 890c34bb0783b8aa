package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/doctor"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// doctorManaging is `doctor -c CONFIG`: the usual checklist on the managing
// token as the config reads it, then one more check: can it do what the
// config asks (scopes, role on every group and project named there).
func doctorManaging(cmd *cobra.Command, cfgPath, format, lookupEnv string, now clock.Clock) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	g := cfg.GitLab
	write, _ := managing.Needs(cfg)
	need := "read_api"
	if write {
		need = "api"
	}
	needs, err := doctor.ParseNeeds(need)
	if err != nil {
		return err
	}
	in := doctor.Input{Needs: needs, URL: g.URL, URLSource: "gitlab.url in " + filepath.Base(cfg.Path)}
	if g.TokenFile != "" {
		in.Origin = doctor.Origin{Kind: "file", Name: g.TokenFile}
		b, rerr := os.ReadFile(g.TokenFile)
		in.Origin.Found = rerr == nil || !errors.Is(rerr, os.ErrNotExist)
		in.Origin.Err = rerr
		in.Token = secret.New(strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"))
	} else {
		v, ok := os.LookupEnv(g.TokenEnv)
		in.Origin = doctor.Origin{Kind: "env", Name: g.TokenEnv, Found: ok}
		in.Token = secret.New(v)
	}
	if lookupEnv != "" {
		in.Lookup = secret.New(os.Getenv(lookupEnv))
	}
	th := managing.ThresholdsOf(g)
	rep := doctor.Run(cmd.Context(), in, doctor.Config{Clock: now, ExpiryWarning: th.Warning, Timeout: g.Timeout})
	rep.Checks = append(rep.Checks, configCheck(cmd, cfg, in, rep.Healthy, now))
	if last := rep.Checks[len(rep.Checks)-1]; last.Status == doctor.StatusFailed {
		rep.Healthy = false
	}
	return writeDoctorReport(cmd.OutOrStdout(), rep, format)
}

// configCheck measures the token against the config (managing.Check).
func configCheck(cmd *cobra.Command, cfg *config.Config, in doctor.Input, healthy bool, now clock.Clock) doctor.Result {
	r := doctor.Result{Name: "config", Title: "can do what " + filepath.Base(cfg.Path) + " asks"}
	if !healthy {
		r.Status, r.Detail = doctor.StatusSkipped, "skipped: an earlier check failed"
		return r
	}
	c, err := gitlab.New(gitlab.Config{URL: cfg.GitLab.URL, Token: secret.New(strings.TrimSpace(in.Token.Reveal())), Timeout: cfg.GitLab.Timeout})
	var st managing.Status
	if err == nil {
		st, err = managing.Check(cmd.Context(), c, cfg, now.Now())
	}
	switch {
	case err != nil:
		r.Status, r.Blocking, r.Detail, r.Fix = doctor.StatusFailed, true, err.Error(), "run doctor again once GitLab answers"
	case st.Level == managing.LevelExpired:
		r.Status, r.Blocking, r.Detail, r.Fix = doctor.StatusFailed, true, st.Rejected, st.ReplaceFix()
	case len(st.Problems) > 0:
		var what, fixes []string
		for _, p := range st.Problems {
			what = append(what, "lacks "+p.What)
			fixes = append(fixes, p.Fix)
		}
		r.Status, r.Blocking, r.Detail, r.Fix = doctor.StatusFailed, true, strings.Join(what, "; "), strings.Join(fixes, "; ")
	default:
		r.Status, r.OK = doctor.StatusOK, true
		write, needs := managing.Needs(cfg)
		switch {
		case st.User.Admin:
			r.Detail = "scopes " + strings.Join(st.Token.Scopes, ", ") + " of an administrator reach every group and project"
		case len(needs) == 0 && !write:
			r.Detail = "the config manages no token: scopes " + strings.Join(st.Token.Scopes, ", ") + " are enough"
		default:
			r.Detail = fmt.Sprintf("scopes %s and its role cover the %d group(s) and project(s) the config names", strings.Join(st.Token.Scopes, ", "), len(needs))
		}
		if cfg.GitLab.SelfRotate {
			r.Detail += "; tokenwarden renews it (gitlab.self_rotate)"
		}
	}
	return r
}
