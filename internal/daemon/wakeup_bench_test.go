package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// BenchmarkWakeUp is the cost of one wake-up of serve with 200 managed
// tokens (20 projects of 10, each delivered to a dotenv file) when nothing
// is due: what the daemon pays each time another token's timer, a backoff
// or a grace period wakes it; and of a full plan of them all.
func BenchmarkWakeUp(b *testing.B) {
	const projects, perProject = 20, 10
	w := simtest.NewWorld(b, simtest.WorldOptions{Start: start, RootToken: rootToken, Seed: 1})
	w.ClientsOnFakeClock = true
	w.Write("root.token", rootToken+"\n")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "gitlab: {url: %s, token_file: root.token}\nstate: sqlite://tw.db\nkey_file: tw.key\n", w.URL)
	cfg.WriteString("defaults: {lifetime: 90d, rotate_before: 10d}\nserve: {scan_interval: 30d}\ntokens:\n")
	for p := range projects {
		if _, err := w.Srv.CreateProject(fmt.Sprintf("p%d", p), w.Group.ID); err != nil {
			b.Fatal(err)
		}
		for i := range perProject {
			name := fmt.Sprintf("t%d-%d", p, i)
			fmt.Fprintf(&cfg, "  - name: %s\n    project: acme/p%d\n    scopes: [read_api]\n    access_level: reporter\n    deliver:\n      - file: {path: %s.env, format: dotenv, key: TOKEN}\n", name, p, name)
		}
	}
	w.Write("tw.yaml", cfg.String())
	c, sealer := w.LoadConfig("tw.yaml")
	st := w.OpenJournal(c.State, sealer)
	managing := w.Client(secret.New(rootToken))
	d := daemon.New(daemon.Deps{
		Engine: w.Engine(managing, st, nil), Store: st, GitLab: managing, Clock: w.Clock, Config: c,
		LoadConfig: func() (*config.Config, error) { return config.Load(filepath.Join(w.Dir, "tw.yaml")) },
	})
	ctx := context.Background()
	steps := d.Steps()
	steps.Start(ctx)
	steps.Next(ctx) // every token is created and delivered
	if n := len(d.State().Managed); n != projects*perProject {
		b.Fatalf("%d managed tokens planned, want %d", n, projects*perProject)
	}
	for _, m := range d.State().Managed {
		if m.Current == nil || m.RenewAt == nil {
			b.Fatalf("%s is not live and scheduled after the first pass: %s %s", m.Ref, m.Action, m.Reason)
		}
	}
	b.Run("nothing due", func(b *testing.B) {
		for range b.N {
			steps.Wake(ctx)
			steps.Next(ctx)
		}
	})
	// After a reload every token is planned afresh (as at each scan
	// interval): GitLab's lists, every sink read back.
	b.Run("full plan", func(b *testing.B) {
		for range b.N {
			if err := d.Reload(); err != nil {
				b.Fatal(err)
			}
			steps.Next(ctx)
		}
	})
}
