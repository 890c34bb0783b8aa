package notify

import (
	"context"
	"sync"
	"time"
)

// DedupStore remembers which deliveries were made, so that an event the
// daemon reports at every scan (a token inside its 7-day window) goes out
// once per channel. Keys are opaque strings of at most a few hundred bytes.
// The journal (journal.Store) is the durable one: a restarted daemon, or
// another taking over the shared state, does not announce again.
type DedupStore interface {
	// NotificationSent reports whether key was delivered before.
	NotificationSent(ctx context.Context, key string) (bool, error)
	// MarkNotificationSent remembers that key was delivered at at.
	MarkNotificationSent(ctx context.Context, key string, at time.Time) error
}

// MemoryDedup is a DedupStore that forgets on restart: after one, an
// expiring token is announced again, once.
type MemoryDedup struct {
	mu   sync.Mutex
	sent map[string]time.Time
}

// NewMemoryDedup returns an empty MemoryDedup.
func NewMemoryDedup() *MemoryDedup { return &MemoryDedup{sent: map[string]time.Time{}} }

// NotificationSent implements DedupStore.
func (m *MemoryDedup) NotificationSent(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.sent[key]
	return ok, nil
}

// MarkNotificationSent implements DedupStore.
func (m *MemoryDedup) MarkNotificationSent(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent[key] = at
	return nil
}
