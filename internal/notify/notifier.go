package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// Errors Notify returns; callers may log them and carry on.
var (
	ErrClosed    = errors.New("notifier closed")
	ErrQueueFull = errors.New("notification queue full")
)

// Defaults for the Notifier's options.
const (
	DefaultQueueSize   = 256
	DefaultMaxAttempts = 6
	DefaultBackoff     = 2 * time.Second // doubled after every failed attempt
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultSendTimeout = 30 * time.Second
)

// Option tunes a Notifier.
type Option func(*Notifier)

// WithRetry sets how many attempts a delivery gets (at least 1) and the
// backoff: first after the first failure, doubled after every further one,
// capped at max.
func WithRetry(attempts int, first, max time.Duration) Option {
	return func(n *Notifier) {
		n.attempts = max1(attempts)
		n.backoff, n.maxBackoff = first, max
	}
}

// WithQueueSize bounds how many deliveries may wait per channel; beyond
// it Notify drops the event for that channel and returns ErrQueueFull.
func WithQueueSize(size int) Option { return func(n *Notifier) { n.queueSize = max1(size) } }

// WithSendTimeout bounds one delivery attempt.
func WithSendTimeout(d time.Duration) Option { return func(n *Notifier) { n.sendTimeout = d } }

func max1(v int) int {
	if v < 1 {
		return 1
	}
	return v
}

// Notifier delivers events to every channel. Each channel has its own
// bounded queue and worker goroutine, so a slow or failing channel delays
// neither the caller nor the other channels.
type Notifier struct {
	store       DedupStore
	clk         clock.Clock
	log         *slog.Logger
	attempts    int
	backoff     time.Duration
	maxBackoff  time.Duration
	queueSize   int
	sendTimeout time.Duration

	queues []*queue
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	inflight map[string]bool // dedup keys queued or being sent
}

type queue struct {
	ch   Channel
	jobs chan job
}

type job struct {
	key        string // channel id + event dedup key
	deliveryID string
	event      Event
}

// New starts a Notifier over channels. store nil means a MemoryDedup, clk nil
// the wall clock, logger nil no logs. Call Close to stop it.
func New(channels []Channel, store DedupStore, clk clock.Clock, logger *slog.Logger, opts ...Option) *Notifier {
	if store == nil {
		store = NewMemoryDedup()
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Notifier{
		store: store, clk: clk, log: logger,
		attempts: DefaultMaxAttempts, backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff,
		queueSize: DefaultQueueSize, sendTimeout: DefaultSendTimeout,
		inflight: map[string]bool{},
	}
	for _, o := range opts {
		o(n)
	}
	n.runCtx, n.cancel = context.WithCancel(context.Background())
	for _, ch := range channels {
		q := &queue{ch: ch, jobs: make(chan job, n.queueSize)}
		n.queues = append(n.queues, q)
		n.wg.Add(1)
		go n.work(q)
	}
	return n
}

// Notify queues e for every channel that has not delivered it yet (see
// Event.DedupKey) and returns at once; delivery happens in the background.
// A zero e.At is set to now. The error reports events dropped because a
// queue was full or the Notifier closed; nothing else is the caller's
// concern — delivery failures are logged.
func (n *Notifier) Notify(ctx context.Context, e Event) error {
	if e.Kind == "" {
		return errors.New("notify: event has no kind")
	}
	if e.At.IsZero() {
		e.At = n.clk.Now()
	}
	var errs []error
	for _, q := range n.queues {
		key := q.ch.ID() + " " + e.DedupKey()
		if sent, err := n.store.NotificationSent(ctx, key); err != nil {
			// Rather twice than never: send, and let the worker check again.
			n.log.Warn("notify: dedup lookup failed", "channel", q.ch.ID(), "event", e.Kind, "token", e.Ref(), "err", err)
		} else if sent {
			continue
		}
		if err := n.enqueue(q, job{key: key, deliveryID: newDeliveryID(), event: e}); err != nil {
			n.log.Warn("notify: event dropped", "channel", q.ch.ID(), "event", e.Kind, "token", e.Ref(), "err", err)
			errs = append(errs, fmt.Errorf("notify %s: %w", q.ch.ID(), err))
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) enqueue(q *queue, j job) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.inflight[j.key] {
		return nil // the same delivery is already on its way
	}
	select {
	case q.jobs <- j:
		n.inflight[j.key] = true
		return nil
	default:
		return ErrQueueFull
	}
}

// Close stops accepting events and waits for the queued ones to be
// delivered (retries included) until ctx ends; then it abandons the rest
// and returns ctx's error.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		for _, q := range n.queues {
			close(q.jobs)
		}
	}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return fmt.Errorf("notify: close: %w", ctx.Err())
	}
}

func (n *Notifier) work(q *queue) {
	defer n.wg.Done()
	for j := range q.jobs {
		n.deliver(q.ch, j)
		n.mu.Lock()
		delete(n.inflight, j.key)
		n.mu.Unlock()
	}
}

// deliver sends one job with retries. It checks the store again first: a
// delivery queued before an identical one finished is dropped here.
func (n *Notifier) deliver(ch Channel, j job) {
	ctx := n.runCtx
	e := j.event
	log := n.log.With("channel", ch.ID(), "event", string(e.Kind), "token", e.Ref(), "delivery", j.deliveryID)
	if sent, err := n.store.NotificationSent(ctx, j.key); err == nil && sent {
		return
	}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			log.Warn("notify: abandoned at shutdown", "attempt", attempt)
			return
		}
		err := n.sendOnce(ctx, ch, j)
		if err == nil {
			log.Info("notification sent", "attempt", attempt)
			if err := n.store.MarkNotificationSent(ctx, j.key, n.clk.Now()); err != nil {
				log.Warn("notify: could not remember delivery; it may be repeated", "err", err)
			}
			return
		}
		if IsPermanent(err) || attempt >= n.attempts {
			log.Error("notification failed", "attempt", attempt, "err", err)
			return
		}
		wait := Backoff(attempt, n.backoff, n.maxBackoff)
		log.Warn("notification failed; will retry", "attempt", attempt, "retry_in", wait, "err", err)
		t := n.clk.NewTimer(wait)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
		}
	}
}

func (n *Notifier) sendOnce(ctx context.Context, ch Channel, j job) error {
	if n.sendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.sendTimeout)
		defer cancel()
	}
	return ch.Send(ctx, j.deliveryID, j.event)
}

// Backoff is the wait after failed attempt number attempt (1-based): first,
// doubled each time, at most max (when max > 0).
func Backoff(attempt int, first, max time.Duration) time.Duration {
	d := first
	for i := 1; i < attempt; i++ {
		d *= 2
		if max > 0 && d >= max {
			return max
		}
	}
	if max > 0 && d > max {
		return max
	}
	return d
}

func newDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}
