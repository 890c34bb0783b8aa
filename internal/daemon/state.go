package daemon

import (
	"strconv"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/engine"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/policy"
)

// CodeUnmanaged is the finding for an active token that no config entry manages.
const CodeUnmanaged = "unmanaged"

// State is the daemon's view of the instance: the last scan, evaluated, and
// the last plan of the managed tokens. It holds no secret.
type State struct {
	Scanned   bool      // the first scan is done
	ScannedAt time.Time // when the last scan finished
	ScanErr   string    // why the last scan failed or is incomplete ("" → fine)
	Tokens    []Token   // every token found, by resource path then id
	Managed   []Managed // configured tokens, in config order
	PlannedAt time.Time
	NextWake  time.Time // when the scheduler wakes next
	// Managing is the last check of the token tokenwarden runs with; nil
	// before the first (or without a managing token).
	Managing *managing.Status
}

// ManagingDead reports whether the last check found the managing token
// expired or revoked: nothing works until it is replaced.
func (s State) ManagingDead() bool {
	return s.Managing != nil && s.Managing.Level == managing.LevelExpired
}

// ManagingBanner is the dashboard's warning about the managing token, ""
// when it is far from expiry.
func (s State) ManagingBanner() string {
	if s.Managing == nil {
		return ""
	}
	return s.Managing.Warning()
}

// Token is one scanned token with what the policy says about it, and what
// serve knows of it from the config and the plan.
type Token struct {
	policy.Row
	// Ref is the config ref of the managed token this is, "" when unmanaged.
	Ref string
	// NextRotation is when the scheduler renews it (managed and current only).
	NextRotation *time.Time
	// Lives are the CI/CD variables found holding it (serve.scan_variables).
	Lives []string
}

// Managed is one configured token as last planned.
type Managed struct {
	Ref          string
	ResourceType string
	ResourcePath string
	Name         string
	Strategy     config.Strategy
	Action       engine.Action
	Reason       string
	Warning      string // the last rotation failed and still needs a person
	Note         string // a failure that no longer counts; adopt: wait
	Current      *gitlab.Token
	RenewAt      *time.Time
	Deliver      []string // sink descriptions, in config order
}

// Key identifies a scanned credential: GitLab numbers each kind on its
// own (a deploy token and an access token may share an id), so a token is
// its kind and its id. Group, project, personal and service account tokens
// share one sequence (docs/gitlab-api.md, "Credential ids").
type Key struct {
	Kind string // gitlab.Kind…
	ID   int64
}

// String is "kind:id", e.g. "deploy_token:12".
func (k Key) String() string { return k.Kind + ":" + strconv.FormatInt(k.ID, 10) }

// Key is t's kind and id.
func (t Token) Key() Key { return Key{Kind: t.TokenKind(), ID: t.ID} }

// Token returns the scanned token of kind with id, and whether there is one.
func (s State) Token(kind string, id int64) (Token, bool) {
	for _, t := range s.Tokens {
		if t.ID == id && t.TokenKind() == kind {
			return t, true
		}
	}
	return Token{}, false
}

// ManagedByRef returns the managed token ref, and whether there is one.
func (s State) ManagedByRef(ref string) (Managed, bool) {
	for _, m := range s.Managed {
		if m.Ref == ref {
			return m, true
		}
	}
	return Managed{}, false
}
