package main

import (
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"go.yaml.in/yaml/v3"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal/pgtest"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// ciTemplatePath is the GitLab CI template, relative to this package.
const ciTemplatePath = "../../ci/tokenwarden.gitlab-ci.yml"

// ciJob is what the tests read of a job in the template.
type ciJob struct {
	Extends      string           `yaml:"extends"`
	Image        string           `yaml:"image"`
	Stage        string           `yaml:"stage"`
	BeforeScript []string         `yaml:"before_script"`
	Script       []string         `yaml:"script"`
	Rules        []map[string]any `yaml:"rules"`
	Needs        []any            `yaml:"needs"`
	ResourceGrp  string           `yaml:"resource_group"`
	Artifacts    struct {
		When     string            `yaml:"when"`
		ExpireIn string            `yaml:"expire_in"`
		Paths    []string          `yaml:"paths"`
		Reports  map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

type ciTemplate struct {
	Variables map[string]string
	Jobs      map[string]ciJob
}

// loadCITemplate parses the template strictly: every top-level key is
// variables or a job, and every job key is one the tests know.
func loadCITemplate(path string) (ciTemplate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ciTemplate{}, err
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(b, &top); err != nil {
		return ciTemplate{}, err
	}
	t := ciTemplate{Jobs: map[string]ciJob{}}
	for k, n := range top {
		if k == "variables" {
			if err := n.Decode(&t.Variables); err != nil {
				return t, err
			}
			continue
		}
		var j ciJob
		dec := yaml.NewDecoder(strings.NewReader(mustYAML(n)))
		dec.KnownFields(true)
		if err := dec.Decode(&j); err != nil {
			return t, errors.New("job " + k + ": " + err.Error())
		}
		t.Jobs[k] = j
	}
	return t, nil
}

func mustYAML(n yaml.Node) string {
	b, err := yaml.Marshal(&n)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// resolved is job with the keys of the job it extends.
func (t ciTemplate) resolved(name string) (ciJob, bool) {
	j, ok := t.Jobs[name]
	if !ok {
		return j, false
	}
	if j.Extends != "" {
		base := t.Jobs[j.Extends]
		if j.Image == "" {
			j.Image = base.Image
		}
		if j.BeforeScript == nil {
			j.BeforeScript = base.BeforeScript
		}
	}
	return j, true
}

// TestCITemplate: the template is YAML GitLab accepts for include:, with a
// scheduled scan that fails on critical findings and reports JUnit and Code
// Quality, and an apply on the default branch, one at a time, with no secret
// written in it.
func TestCITemplate(t *testing.T) {
	tpl, err := loadCITemplate(ciTemplatePath)
	if err != nil {
		t.Fatalf("%s: %v", ciTemplatePath, err)
	}
	scan, ok := tpl.resolved("tokenwarden-scan")
	if !ok {
		t.Fatal("no tokenwarden-scan job")
	}
	apply, ok := tpl.resolved("tokenwarden-apply")
	if !ok {
		t.Fatal("no tokenwarden-apply job")
	}
	for name, j := range map[string]ciJob{"tokenwarden-scan": scan, "tokenwarden-apply": apply} {
		if j.Image == "" || len(j.Script) == 0 || j.Stage == "" {
			t.Errorf("%s: needs an image, a stage and a script: %+v", name, j)
		}
		schedule := false
		for _, r := range j.Rules {
			if s, _ := r["if"].(string); strings.Contains(s, `$CI_PIPELINE_SOURCE == "schedule"`) {
				schedule = true
			}
		}
		if !schedule {
			t.Errorf("%s: does not run in scheduled pipelines: %v", name, j.Rules)
		}
	}
	script := strings.Join(scan.Script, "\n")
	if !strings.Contains(script, "--fail-on critical") {
		t.Errorf("scan does not fail on critical findings:\n%s", script)
	}
	if scan.Artifacts.When != "always" {
		t.Errorf("scan artifacts when: %q; a failing scan must still upload its reports (always)", scan.Artifacts.When)
	}
	for format, report := range map[string]string{"junit": "junit", "codequality": "codequality"} {
		file := scan.Artifacts.Reports[report]
		if file == "" {
			t.Errorf("no artifacts:reports:%s", report)
			continue
		}
		if !strings.Contains(script, "--format "+format+" ") || !strings.Contains(script, "> "+file) {
			t.Errorf("the scan script does not write --format %s to %s:\n%s", format, file, script)
		}
	}
	if apply.ResourceGrp == "" {
		t.Errorf("apply has no resource_group: two pipelines could rotate at once")
	}
	if !slices.ContainsFunc(apply.Script, func(s string) bool { return strings.HasPrefix(s, "tokenwarden apply ") && strings.Contains(s, "--yes") }) {
		t.Errorf("apply job does not run tokenwarden apply --yes: %v", apply.Script)
	}
	for _, r := range apply.Rules {
		if s, _ := r["if"].(string); !strings.Contains(s, "$CI_DEFAULT_BRANCH") {
			t.Errorf("apply rule %q is not limited to the default branch (where the protected variables are)", s)
		}
	}
	// The managing token and the database password come from masked,
	// protected CI/CD variables, never from the template.
	for k := range tpl.Variables {
		if k == "GITLAB_TOKEN" || k == "PGPASSWORD" || k == "TOKENWARDEN_STATE" || strings.Contains(strings.ToUpper(k), "PASSWORD") {
			t.Errorf("variables: %s must be a masked, protected CI/CD variable, not a value in the template", k)
		}
	}
}

// ciScriptCmds: cijob runs a job of the GitLab CI template as GitLab's
// shell executor would: its variables (unless already set), then each line
// of before_script and script in sh -e, in $WORK, stopping at the first that
// fails.
//
//	cijob JOB [EXIT]   EXIT (default 0): the exit status the job ends with
func ciScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	tpl, tplErr := filepath.Abs(ciTemplatePath)
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"cijob": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 1 || len(args) > 2 {
				ts.Fatalf("usage: cijob JOB [EXIT]")
			}
			ts.Check(tplErr)
			want := 0
			if len(args) == 2 {
				var err error
				want, err = strconv.Atoi(args[1])
				ts.Check(err)
			}
			t, err := loadCITemplate(tpl)
			ts.Check(err)
			job, ok := t.resolved(args[0])
			if !ok {
				ts.Fatalf("cijob: no job %q in %s", args[0], tpl)
			}
			for k, v := range t.Variables {
				if ts.Getenv(k) == "" {
					ts.Setenv(k, v)
				}
			}
			got := 0
			for _, line := range slices.Concat(job.BeforeScript, job.Script) {
				ts.Logf("$ %s", line)
				if err := ts.Exec("sh", "-ec", line); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("cijob: %v", err)
					}
					got = ee.ExitCode()
					ts.Logf("%s\n(exit %d)", ts.ReadFile("stderr"), got)
					break
				}
			}
			if got != want {
				ts.Fatalf("job %s ended with exit status %d, want %d", args[0], got, want)
			}
		},
	}
}

// TestCITemplatePostgresState runs testdata/postgres: the template's apply
// job with the PostgreSQL state's URL, password and all, in one CI/CD
// variable (TOKENWARDEN_STATE, named by state_env in the config), on a schema
// of its own in $TOKENWARDEN_TEST_POSTGRES (PGPASSWORD goes into the URL, not
// into the job's environment).
func TestCITemplatePostgresState(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	password := os.Getenv("PGPASSWORD")
	if password == "" {
		password = "unused-by-a-trusting-server"
	}
	u.User = url.UserPassword(u.User.Username(), password)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/postgres",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			if err := scriptSetup(env); err != nil {
				return err
			}
			key := filepath.Join(env.WorkDir, "..", "tw-ci-file-variable.key")
			if _, err := secret.LoadOrCreateKey(key); err != nil {
				return err
			}
			env.Setenv("TOKENWARDEN_KEY_FILE", key)
			env.Setenv("TOKENWARDEN_STATE", u.String())
			env.Setenv("TW_STATE_PASSWORD", password)
			return nil
		},
		Cmds: mergeCmds(scriptCmds(), engineScriptCmds(), netScriptCmds(), ciScriptCmds()),
	})
}
