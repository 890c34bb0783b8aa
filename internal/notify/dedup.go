package notify

import (
	"context"
	"sync"
	"time"
)

// DedupStore remembers which deliveries were made, so that an event the
// daemon reports at every scan (a token inside its 7-day window) goes out
// once per channel. Keys are opaque strings of at most a few hundred bytes.
type DedupStore interface {
	// Sent reports whether key was delivered before.
	Sent(ctx context.Context, key string) (bool, error)
	// MarkSent remembers that key was delivered at at.
	MarkSent(ctx context.Context, key string, at time.Time) error
}

// MemoryDedup is a DedupStore that forgets on restart: after one, an
// expiring token is announced again, once.
type MemoryDedup struct {
	mu   sync.Mutex
	sent map[string]time.Time
}

// NewMemoryDedup returns an empty MemoryDedup.
func NewMemoryDedup() *MemoryDedup { return &MemoryDedup{sent: map[string]time.Time{}} }

// Sent implements DedupStore.
func (m *MemoryDedup) Sent(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.sent[key]
	return ok, nil
}

// MarkSent implements DedupStore.
func (m *MemoryDedup) MarkSent(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent[key] = at
	return nil
}
