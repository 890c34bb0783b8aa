package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
)

// checkManaging asks GitLab once about the managing token: a warning line
// goes to w when it expires soon; an error comes back when GitLab rejects
// it or, with strict, when its scopes or role fall short of what cfg asks
// (before any work starts).
func checkManaging(ctx context.Context, c *gitlab.Client, cfg *config.Config, now time.Time, w io.Writer, strict bool) (managing.Status, error) {
	st, err := managing.Check(ctx, c, cfg, now)
	if err != nil {
		return st, err
	}
	if msg := st.Warning(); msg != "" && st.Level != managing.LevelExpired {
		fmt.Fprintf(w, "! %s\n\n", msg)
	}
	if st.Level == managing.LevelExpired || strict {
		if err := st.Err(); err != nil {
			return st, managingError(err)
		}
	}
	return st, nil
}

// managingError turns a managing.Error into a CLI error with its hint.
func managingError(err error) error {
	if me, ok := err.(*managing.Error); ok && me.Hint != "" {
		return withHint(err, me.Hint)
	}
	return err
}

// checkManaging checks the runtime's managing token (see checkManaging).
func (r *engineRuntime) checkManaging(ctx context.Context, w io.Writer, strict bool) (managing.Status, error) {
	if r.gitlab == nil {
		return managing.Status{}, nil
	}
	return checkManaging(ctx, r.gitlab, r.cfg, r.clock.Now(), w, strict)
}
