// Package notify owns tokenwarden's notifications: the events worth telling
// people about (a token expiring or expired, a rotation done or failed, a new
// finding on a token nobody manages), the channels they go out on (signed
// webhook, Slack incoming webhook, SMTP mail), and the Notifier that delivers
// each event once per channel — queued, retried with backoff, de-duplicated —
// without ever making the caller (the rotation scheduler) wait on a slow or
// broken receiver. An Event never carries a secret.
package notify

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// Kind is what happened.
type Kind string

// The event kinds.
const (
	KindExpiring       Kind = "expiring"        // crossed one of the thresholds before expiry
	KindExpired        Kind = "expired"         // the token has stopped working
	KindRotated        Kind = "rotated"         // a rotation finished
	KindRotationFailed Kind = "rotation-failed" // a rotation gave up
	KindNewFinding     Kind = "new-finding"     // an unmanaged token's finding not seen at the previous scan
)

// Token describes the token an event is about. It has no secret field.
type Token struct {
	ID int64 `json:"id,omitempty"`
	// Kind is the credential's kind (gitlab.Kind…); "" for an access token
	// whose kind its resource says.
	Kind         string     `json:"kind,omitempty"`
	Name         string     `json:"name"`
	ResourceType string     `json:"resource_type"` // group | project | user
	ResourcePath string     `json:"resource_path"`
	Scopes       []string   `json:"scopes,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

// Finding is the policy finding a new-finding event reports.
type Finding struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// Event is one thing to tell people about.
type Event struct {
	Kind Kind
	// TokenRef is config.Token.Ref() for managed tokens; empty for
	// unmanaged ones (then Token names the token).
	TokenRef string
	Token    Token
	// Threshold is the expiry threshold crossed (expiring only), e.g. 7 days.
	Threshold time.Duration
	// Finding is set for new-finding.
	Finding *Finding
	// RotationID is the journal's rotation id (rotated, rotation-failed).
	RotationID string
	// Detail is free text, e.g. why a rotation failed. It must not hold a
	// secret; the engine's errors never do.
	Detail string
	At     time.Time
}

// Ref names the event's token for people: the managed token's ref, or
// "type/path:name" for an unmanaged one.
func (e Event) Ref() string {
	if e.TokenRef != "" {
		return e.TokenRef
	}
	t := e.Token
	if t.ResourceType == "" {
		return t.ResourcePath + ":" + t.Name
	}
	return t.ResourceType + "/" + t.ResourcePath + ":" + t.Name
}

// DedupKey identifies the event for de-duplication: kind, token (ref and
// id), threshold, finding code and rotation id. The token id is part of it
// so that a rotated token's successor gets its own expiry warnings. GitLab
// numbers deploy, trigger and runner tokens each on their own, apart from
// the access tokens: their kind is part of the key too.
func (e Event) DedupKey() string {
	parts := []string{string(e.Kind), e.Ref(), strconv.FormatInt(e.Token.ID, 10)}
	if k := e.Token.Kind; k != "" && !gitlab.AccessTokenKind(k) {
		parts = append(parts, "k="+k)
	}
	if e.Threshold != 0 {
		parts = append(parts, "t="+strconv.FormatInt(int64(e.Threshold/time.Second), 10))
	}
	if e.Finding != nil {
		parts = append(parts, "f="+e.Finding.Code)
	}
	if e.RotationID != "" {
		parts = append(parts, "r="+e.RotationID)
	}
	return strings.Join(parts, "|")
}

// CrossedThreshold returns the smallest of thresholds that the time left
// until expiresAt is within, and false when none is (or when the token has
// already expired — that is an expired event). A token found with 5 days
// left is warned once, at 7 days, not at 30 and 7.
func CrossedThreshold(expiresAt, now time.Time, thresholds []time.Duration) (time.Duration, bool) {
	left := expiresAt.Sub(now)
	if left <= 0 {
		return 0, false
	}
	ts := append([]time.Duration(nil), thresholds...)
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	for _, th := range ts {
		if th > 0 && left <= th {
			return th, true
		}
	}
	return 0, false
}
