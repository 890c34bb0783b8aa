package engine

import (
	"context"
	"sync"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// planRows is how many of a token's newest journal rows a plan reads.
const planRows = 50

// journalCache keeps, from one plan to the next, what a plan reads of the
// journal: the unfinished rotations, each token's newest rows, and the
// secrets of the rotations that produced live tokens. Each plan first asks
// the journal which refs were written since the last (Store.Written, one
// query) and reads again only those: a daemon waking up with hundreds of
// tokens, of which one is due, neither re-reads every token's history nor
// decrypts every live secret. A ref is read again after any write to it,
// by this process or another on the same state.
type journalCache struct {
	mu         sync.Mutex
	valid      bool
	mark       int64
	unfinished []*journal.Rotation // nil: read again
	rows       map[string][]*journal.Rotation
	secrets    map[string]secret.Credential // rotation id → its new credential
}

// planJournal is the journal as one plan sees it.
type planJournal struct {
	e    *Engine
	c    *journalCache
	mark int64 // the journal's write mark before anything was read
}

// planJournal brings the cache up to date with the journal's writes.
func (e *Engine) planJournal(ctx context.Context) (planJournal, error) {
	c := &e.jc
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid {
		// The mark comes first: a write after it is seen at the next plan.
		mark, _, err := e.d.Store.Written(ctx, -1)
		if err != nil {
			return planJournal{}, err
		}
		c.valid, c.mark, c.unfinished = true, mark, nil
		c.rows, c.secrets = map[string][]*journal.Rotation{}, map[string]secret.Credential{}
		return planJournal{e, c, mark}, nil
	}
	mark, refs, err := e.d.Store.Written(ctx, c.mark)
	if err != nil {
		return planJournal{}, err
	}
	if len(refs) > 0 {
		c.unfinished = nil
	}
	for _, ref := range refs {
		for _, r := range c.rows[ref] {
			delete(c.secrets, r.ID)
		}
		delete(c.rows, ref)
	}
	c.mark = mark
	return planJournal{e, c, mark}, nil
}

// Unfinished is Store.Unfinished. The rotations are shared: read only.
func (j planJournal) Unfinished(ctx context.Context) ([]*journal.Rotation, error) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	if j.c.unfinished == nil {
		rs, err := j.e.d.Store.Unfinished(ctx)
		if err != nil {
			return nil, err
		}
		j.c.unfinished = append([]*journal.Rotation{}, rs...)
	}
	return j.c.unfinished, nil
}

// Rows are ref's newest planRows rows (Store.List). Shared: read only.
func (j planJournal) Rows(ctx context.Context, ref string) ([]*journal.Rotation, error) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	if rs, ok := j.c.rows[ref]; ok {
		return rs, nil
	}
	rs, err := j.e.d.Store.List(ctx, journal.Filter{Ref: ref, Limit: planRows})
	if err != nil {
		return nil, err
	}
	j.c.rows[ref] = rs
	return rs, nil
}

// Secret is the new credential of rotation r (a row of Rows), zero when it
// has none: decrypted once (Store.Get), then kept until r's ref is written.
func (j planJournal) Secret(ctx context.Context, r *journal.Rotation) (secret.Credential, error) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	if s, ok := j.c.secrets[r.ID]; ok {
		return s, nil
	}
	full, err := j.e.d.Store.Get(ctx, r.ID)
	if err != nil {
		return secret.Credential{}, err
	}
	j.c.secrets[r.ID] = credentialOf(full)
	return j.c.secrets[r.ID], nil
}
