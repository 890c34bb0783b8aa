package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
)

// StandbyPoll is how often a daemon standing by tries to take the lock.
const StandbyPoll = 5 * time.Second

// ErrLeadershipLost is what Leader.Run returns when the lock went away
// under the daemon: another daemon may lead now, and two must never rotate.
var ErrLeadershipLost = errors.New("lost the state lock: its PostgreSQL session ended, so another tokenwarden serve may lead now")

// Leader is this process's hold on the state's worker lock (journal.Lease):
// the daemon rotates only while it leads. On a shared (PostgreSQL) state
// several daemons run; one leads, the others stand by until it goes away.
// serve runs Leader.Run beside the daemon (Deps.Leading and Deps.Fence come
// from the Leader) and the dashboard (which answers "standing by" meanwhile).
type Leader struct {
	dsn     string
	poll    time.Duration
	log     *slog.Logger
	leading chan struct{} // closed once the lock is held
	lost    chan struct{} // closed when the lock went away without Release

	mu    sync.Mutex
	lease *journal.Lease
}

// Lead takes the lock on the state dsn when it is free. When another daemon
// holds it, on a shared (PostgreSQL) state, the Leader stands by: Run takes
// the lock once that daemon goes away. Elsewhere (SQLite) it is an error
// wrapping journal.ErrLocked. Release the Leader once the daemon stopped.
func Lead(ctx context.Context, dsn string, log *slog.Logger) (*Leader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Leader{dsn: dsn, poll: StandbyPoll, log: log, leading: make(chan struct{}), lost: make(chan struct{})}
	lease, err := journal.TryLock(ctx, dsn)
	switch {
	case err == nil:
		l.lease = lease
		close(l.leading)
	case errors.Is(err, journal.ErrLocked) && journal.IsPostgres(dsn):
		log.Info("standing by: another tokenwarden serve is the leader", "retry_every", l.poll.String())
	default:
		return nil, err
	}
	return l, nil
}

// Leading is closed once this process holds the lock.
func (l *Leader) Leading() <-chan struct{} { return l.leading }

// IsLeading reports whether this process holds the lock.
func (l *Leader) IsLeading() bool {
	select {
	case <-l.leading:
		return true
	default:
		return false
	}
}

// Lost is closed when the lock went away (the PostgreSQL session that held
// it ended): the daemon's fence.
func (l *Leader) Lost() <-chan struct{} { return l.lost }

// Run waits for the lock when standing by, then watches it until ctx ends
// (nil) or the lock is lost: then it closes Lost and returns
// ErrLeadershipLost. It does not release the lock: a rotation may still be
// finishing after ctx ended; Release does, once the daemon stopped.
func (l *Leader) Run(ctx context.Context) error {
	if !l.IsLeading() {
		lease, err := journal.WaitLock(ctx, l.dsn, l.poll)
		if ctx.Err() != nil {
			if lease != nil {
				lease.Unlock()
			}
			return nil
		}
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.lease = lease
		l.mu.Unlock()
		close(l.leading)
		l.log.Info("leading: took the state lock; starting the daemon")
	}
	select {
	case <-ctx.Done():
		return nil
	case <-l.lease.Lost():
		// Stop rotating at once: another daemon may be resuming the same
		// rotation from the journal already.
		close(l.lost)
		return ErrLeadershipLost
	}
}

// Release gives the lock back (when held); calling it again does nothing.
func (l *Leader) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lease != nil {
		l.lease.Unlock()
	}
}
