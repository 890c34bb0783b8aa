package engine

import (
	"context"
	"strings"
	"sync"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// DefaultConcurrency is how many tokens are rotated at once when
// Deps.Concurrency is 0.
const DefaultConcurrency = config.DefaultConcurrency

// job is one token's rotation (or resumption, or delivery). begin runs
// when its turn comes, in the jobs' order and one job at a time: it
// journals what must be journaled in that order and returns the rest (nil:
// the job is left out), which runs beside the other jobs, its steps in
// order in one goroutine.
type job struct {
	ref   string
	begin func(context.Context) func(context.Context) Outcome
}

// pipeline runs jobs, up to the engine's concurrency at once, all sharing
// the managing client (and so its pacer: together they stay within GitLab's
// rate limit). No job begins once ctx is done. done, when set, is called
// with each outcome as its job finishes, one call at a time. The outcomes
// come back in the order of jobs, whatever order they finish in; jobs that
// never began are left out.
func (e *Engine) pipeline(ctx context.Context, jobs []job, done func(Outcome)) []Outcome {
	outs := make([]Outcome, len(jobs))
	ran := make([]bool, len(jobs))
	var (
		mu sync.Mutex // serialises done
		wg sync.WaitGroup
	)
	sem := make(chan struct{}, e.d.Concurrency)
	for i, j := range jobs {
		sem <- struct{}{}
		var run func(context.Context) Outcome
		if ctx.Err() == nil {
			run = j.begin(ctx)
		}
		if run == nil {
			<-sem
			if ctx.Err() != nil {
				break
			}
			continue
		}
		ran[i] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := run(ctx)
			outs[i] = o
			if done != nil {
				mu.Lock()
				done(o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var out []Outcome
	for i, o := range outs {
		if ran[i] {
			out = append(out, o)
		}
	}
	return out
}

// destinations serialises the writes of rotations running side by side to
// one destination: two tokens delivered into one dotenv file (or one
// Kubernetes Secret) each read, change and write the whole of it, and would
// otherwise lose each other's key.
type destinations struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// destination is where a sink writes: its ID up to "#", which names the key
// within a file or Secret ("file:/etc/app.env#TOKEN" → "file:/etc/app.env").
// Sinks of one place that hold one value each (a CI/CD variable, a command)
// have no "#": their whole ID is the destination.
func destination(s sink.Sink) string {
	d, _, _ := strings.Cut(s.ID(), "#")
	return d
}

// lock takes the lock of s's destination and returns its unlock.
func (d *destinations) lock(s sink.Sink) func() {
	key := destination(s)
	d.mu.Lock()
	if d.locks == nil {
		d.locks = map[string]*sync.Mutex{}
	}
	l, ok := d.locks[key]
	if !ok {
		l = &sync.Mutex{}
		d.locks[key] = l
	}
	d.mu.Unlock()
	l.Lock()
	return l.Unlock
}
