// Package journal owns the durable record of every rotation: one row per
// rotation that moves through planned → minted → delivered → verified →
// old-revoked → done (or failed), each step committed before the next one
// starts, plus an append-only list of events. The new secret is stored sealed
// (encrypted) the moment it is minted, so a crash never loses it.
package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Step is where a rotation stands.
type Step string

// The steps, in order; done and failed are final.
const (
	StepPlanned    Step = "planned"
	StepMinted     Step = "minted"
	StepDelivered  Step = "delivered"
	StepVerified   Step = "verified"
	StepOldRevoked Step = "old-revoked"
	StepDone       Step = "done"
	StepFailed     Step = "failed"
)

// Final reports whether no more work follows the step.
func (s Step) Final() bool { return s == StepDone || s == StepFailed }

// Kinds of rotation records.
const (
	KindRotation   = "rotation"
	KindRevocation = "revocation" // cleanup by `revoke`
	KindCreation   = "creation"   // the managed token did not exist
	KindDelivery   = "delivery"   // the live token's known secret delivered again, nothing minted
)

// Rotation is one rotation (or creation, or revocation) of one token.
type Rotation struct {
	ID           string // "rot-" + 16 hex chars
	Ref          string // config.Token.Ref()
	Kind         string
	Strategy     string
	ResourceType string
	ResourcePath string
	TokenName    string
	OldTokenID   int64
	NewTokenID   int64
	NewExpiresAt *time.Time
	NewSecret    secret.Secret // sealed at rest
	// NewUsername goes with NewSecret for a token that has one (a deploy
	// token); it is not secret and is stored in plain.
	NewUsername string
	Step        Step
	Delivered   []string   // sink IDs delivered, in order
	RevokeAfter *time.Time // overlap: when the old token may be revoked
	Reason      string     // why it was started
	Error       string     // why it failed
	Attempts    int
	StartedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time
}

// Event is one entry in a rotation's history.
type Event struct {
	RotationID string
	At         time.Time
	Step       Step
	Detail     string
}

// Filter narrows List.
type Filter struct {
	Ref   string    // only this token
	Limit int       // at most this many (0: all)
	Since time.Time // started at or after
}

// Store keeps rotations durably.
type Store interface {
	// Create inserts r (Step planned unless set; ID filled when empty;
	// StartedAt now when zero) with its first event. ErrInProgress when
	// another rotation of r.Ref is unfinished.
	Create(ctx context.Context, r *Rotation) error
	// Update persists every field of r and appends Event{r.Step, detail},
	// in one transaction, durably, before it returns. It sets UpdatedAt,
	// and FinishedAt when the step is final.
	Update(ctx context.Context, r *Rotation, detail string) error
	// Get returns the rotation with its secret, or ErrNotFound.
	Get(ctx context.Context, id string) (*Rotation, error)
	// Unfinished returns the rotations not done or failed, oldest first,
	// with their secrets.
	Unfinished(ctx context.Context) ([]*Rotation, error)
	// List returns rotations newest first. It does not decrypt secrets
	// (NewSecret is zero): history never needs them.
	List(ctx context.Context, f Filter) ([]*Rotation, error)
	// Events returns a rotation's events, oldest first.
	Events(ctx context.Context, rotationID string) ([]Event, error)
	// NotificationSent reports whether the notification key (opaque, at
	// most a few hundred bytes) was marked sent, by this process or any
	// other on the same state: an event the daemon sees at every scan (a
	// token inside its 7-day window) goes out once per channel.
	NotificationSent(ctx context.Context, key string) (bool, error)
	// MarkNotificationSent records that key was delivered at at; marking
	// it again only moves at.
	MarkNotificationSent(ctx context.Context, key string, at time.Time) error
	// Written is the journal's write mark, which every Create and Update
	// (by this process or another on the same state) moves forward, and
	// the refs of the rotations written after the mark since: a reader
	// keeps what it read of a ref until that ref is written again. A
	// negative since returns the mark alone (0 while nothing is written).
	Written(ctx context.Context, since int64) (mark int64, refs []string, err error)
	Close() error
}

// Errors callers branch on.
var (
	ErrNotFound    = errors.New("rotation not found")
	ErrInProgress  = errors.New("another rotation of this token is unfinished")
	ErrUnsupported = errors.New("state backend not supported")
)

// NewID returns a fresh random rotation id.
func NewID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("journal: crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return "rot-" + hex.EncodeToString(b[:])
}
