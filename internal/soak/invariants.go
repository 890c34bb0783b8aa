package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/sim"
)

// check verifies the invariants now: it is called after every event and
// every wake-up of the daemon.
func (h *harness) check() error {
	if h.logs.leak != "" {
		return fmt.Errorf("%w: a secret in a log line: %s", errInvariant, strings.TrimSpace(h.logs.leak))
	}
	if h.notes.leak != "" {
		return fmt.Errorf("%w: a secret in a notification: %s", errInvariant, h.notes.leak)
	}
	if h.store == nil {
		return nil
	}
	unfinished, err := h.store.Unfinished(context.Background())
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	open := map[string]*journal.Rotation{}
	for _, r := range unfinished {
		if prev, ok := open[r.Ref]; ok {
			return fmt.Errorf("%w: %s has two unfinished rotations, %s (%s) and %s (%s)", errInvariant, r.Ref, prev.ID, prev.Step, r.ID, r.Step)
		}
		open[r.Ref] = r
	}
	byName := map[string][]sim.Token{} // kind/resource id/name → tokens
	for _, t := range h.srv.Tokens() {
		if t.ResourceType == "" {
			continue
		}
		k := fmt.Sprintf("%s/%d/%s", t.ResourceType, t.ResourceID, t.Name)
		byName[k] = append(byName[k], t)
	}
	now := h.clk.Now()
	settled := h.inFault == 0 && !h.lastFault.IsZero() && now.Sub(h.lastFault) >= day || h.inFault == 0 && h.lastFault.IsZero() && now.Sub(Start) >= day
	for _, t := range h.tokens {
		rid, err := h.resourceID(t)
		if err != nil {
			return err
		}
		var live []sim.Token
		for _, tok := range byName[fmt.Sprintf("%s/%d/%s", t.kind(), rid, t.name)] {
			if tok.Active {
				live = append(live, tok)
			}
		}
		r := open[t.ref()]
		allowed := 1
		if r != nil {
			allowed = 2
		}
		if len(live) > allowed {
			ids := []int64{}
			for _, l := range live {
				ids = append(ids, l.ID)
			}
			return fmt.Errorf("%w: %s has %d live tokens %v (at most %d allowed)%s", errInvariant, t.ref(), len(live), ids, allowed, h.history(t.ref()))
		}
		var newest *sim.Token
		if len(live) > 0 {
			newest = &live[len(live)-1]
		}
		for _, s := range t.sinks {
			v, err := h.read(t, rid, s)
			if err != nil {
				return err
			}
			if v == "" {
				continue // never delivered
			}
			held, ok := h.srv.TokenBySecret(v)
			if !ok {
				return fmt.Errorf("%w: %s sink %s holds a value that is no token's secret", errInvariant, t.ref(), s.describe())
			}
			if held.Name != t.name {
				return fmt.Errorf("%w: %s sink %s holds the secret of token %d named %q", errInvariant, t.ref(), s.describe(), held.ID, held.Name)
			}
			if !held.Active && r == nil {
				what := "revoked"
				if held.Expired {
					what = "expired"
				}
				return fmt.Errorf("%w: %s sink %s holds token %d, %s, and no rotation is under way to replace it (live: %v)%s", errInvariant, t.ref(), s.describe(), held.ID, what, ids(live), h.history(t.ref()))
			}
			if settled && !(t.adoptWait && newest != nil && newest.ID == t.adoptedID) {
				if newest == nil || held.ID != newest.ID {
					return fmt.Errorf("%w: a day after the last fault, %s sink %s holds token %d, not the live token %v (open rotation: %v)%s", errInvariant, t.ref(), s.describe(), held.ID, ids(live), r != nil, h.history(t.ref()))
				}
			}
		}
	}
	return nil
}

func ids(ts []sim.Token) []int64 {
	out := []int64{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func (s *sinkSpec) describe() string {
	if s.kind == "gitlab_variable" {
		return "gitlab_variable " + s.key
	}
	return s.kind + " " + s.path
}

// read is the secret sink s of t holds now, "" when none.
func (h *harness) read(t *tokenSpec, rid int64, s *sinkSpec) (string, error) {
	switch s.kind {
	case "gitlab_variable":
		v, ok := h.srv.Variable(t.kind(), rid, s.key, "*")
		if !ok {
			return "", nil
		}
		return v.Value, nil
	case "exec":
		b, err := os.ReadFile(s.path)
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return strings.TrimSpace(string(b)), err
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	switch s.format {
	case "raw":
		return strings.TrimSpace(string(b)), nil
	case "dotenv":
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, s.key+"="); ok {
				return strings.Trim(strings.TrimSpace(v), `"'`), nil
			}
		}
		return "", nil
	case "json":
		var doc struct {
			GitLab struct {
				Token string `json:"token"`
			} `json:"gitlab"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return "", fmt.Errorf("%s: %w", s.path, err)
		}
		return doc.GitLab.Token, nil
	}
	return "", fmt.Errorf("unknown format %s", s.format)
}

// history is the journal's rows of ref, for a failure message.
func (h *harness) history(ref string) string {
	if h.store == nil {
		return ""
	}
	rows, err := h.store.List(context.Background(), journal.Filter{Ref: ref})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n    %s %s %s %s old=%d new=%d delivered=%v attempts=%d err=%q updated=%s", r.ID, r.Kind, r.Strategy, r.Step, r.OldTokenID, r.NewTokenID, r.Delivered, r.Attempts, r.Error, r.UpdatedAt.UTC().Format("01-02T15:04"))
	}
	return b.String()
}
