package inventory

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/tokenfind"
)

// How a token found in a variable was identified.
const (
	IdentJournal = "journal"     // a secret tokenwarden delivered: no API call
	IdentAdmin   = "admin-token" // POST /admin/token: no use of the token
	IdentByUse   = "by-use"      // GET /personal_access_tokens/self with the token: moves its last_used_at
)

// StateUnknown: GitLab does not know the token (policy.StateUnknown).
const StateUnknown = "unknown"

// Identification says which token a variable holds. Method "" means it
// could not be identified (no administrator, no --identify-by-use, a kind
// the method does not cover).
type Identification struct {
	Method string
	// Ref is the managed token tokenwarden delivered this secret for
	// (journal).
	Ref string
	// Token is the identified token (from the inventory when it is in
	// scope, else as GitLab described it); nil when not identified or
	// unknown to GitLab.
	Token *gitlab.Token
	// State: gitlab.StateActive/Expired/Revoked, StateUnknown, or "" when
	// not identified.
	State string
}

// Delivered is a secret tokenwarden delivered, by digest (from the journal).
type Delivered struct {
	Ref     string
	TokenID int64
}

// IdentifyOptions say which ways of identifying a token are allowed.
type IdentifyOptions struct {
	// Journal maps tokenfind.Digest of each secret tokenwarden delivered
	// to its token.
	Journal map[string]Delivered
	// Admin: the caller is an administrator; ask POST /admin/token.
	Admin bool
	// ByUse: authenticate with each unidentified access token to read its
	// own record. This changes the token's last_used_at.
	ByUse bool
	// Known are the tokens listed (when the scan streamed them instead of
	// keeping them in Report.Tokens).
	Known       []gitlab.Token
	Now         time.Time
	Concurrency int
}

// IdentifyStats counts what Identify did.
type IdentifyStats struct {
	Secrets, Journal, Admin, ByUse, Unidentified int
}

// Identify fills in rep.Variables' Ident, each distinct secret once, in the
// order the options allow: the journal, then POST /admin/token, then (only
// with ByUse) the token itself.
func Identify(ctx context.Context, c *gitlab.Client, rep *Report, opts IdentifyOptions) (IdentifyStats, error) {
	byID := map[int64]gitlab.Token{}
	for _, t := range append(rep.Tokens[:len(rep.Tokens):len(rep.Tokens)], opts.Known...) {
		if resourceAccessToken(t) {
			byID[t.ID] = t
		}
	}
	// a token of a managed or listed resource: the inventory's record
	inScope := func(t gitlab.Token) *gitlab.Token {
		if known, ok := byID[t.ID]; ok {
			return &known
		}
		return &t
	}
	type job struct {
		digest string
		kind   tokenfind.Kind
		tok    secret.Secret
		ident  Identification
	}
	jobs := map[string]*job{}
	var order []*job
	for _, v := range rep.Variables {
		if v.Hidden {
			continue
		}
		if _, ok := jobs[v.Found.Digest]; !ok {
			j := &job{digest: v.Found.Digest, kind: v.Found.Kind, tok: v.Found.Secret}
			jobs[v.Found.Digest] = j
			order = append(order, j)
		}
	}
	var st IdentifyStats
	st.Secrets = len(order)
	var mu sync.Mutex
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(n)
	for _, j := range order {
		isAccess := j.kind.ID == tokenfind.AccessToken.ID
		if d, ok := opts.Journal[j.digest]; ok {
			j.ident = Identification{Method: IdentJournal, Ref: d.Ref}
			// byID holds access tokens: a deploy or trigger token's id
			// is in an id space of its own.
			if t, ok := byID[d.TokenID]; ok && isAccess {
				j.ident.Token = &t
				j.ident.State = t.State(opts.Now)
			}
			st.Journal++
			continue
		}
		switch {
		case opts.Admin:
			eg.Go(func() error {
				var state string
				var tok *gitlab.Token
				var err error
				if isAccess {
					var t gitlab.Token
					if t, err = c.LookupToken(ectx, j.tok); err == nil {
						tok = inScope(t)
						state = tok.State(opts.Now)
					}
				} else {
					var info gitlab.TokenInfo
					if info, err = c.LookupOtherToken(ectx, j.tok); err == nil {
						state = info.State(opts.Now)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					j.ident = Identification{Method: IdentAdmin, State: state, Token: tok}
				case gitlab.IsStatus(err, http.StatusNotFound):
					j.ident = Identification{Method: IdentAdmin, State: StateUnknown}
				case gitlab.IsStatus(err, http.StatusUnprocessableEntity):
					return nil // a kind GitLab cannot identify
				case ectx.Err() != nil:
					return err
				default:
					return err
				}
				st.Admin++
				return nil
			})
		case opts.ByUse && isAccess:
			eg.Go(func() error {
				own, err := c.ForToken(j.tok)
				if err != nil {
					return err
				}
				t, err := own.SelfToken(ectx)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					j.ident = Identification{Method: IdentByUse, Token: inScope(t)}
					j.ident.State = j.ident.Token.State(opts.Now)
					st.ByUse++
					return nil
				}
				e, ok := gitlab.AsError(err)
				if !ok || e.Status != http.StatusUnauthorized {
					return err
				}
				state := StateUnknown
				switch d := strings.ToLower(e.Description); {
				case strings.Contains(d, "expired"):
					state = gitlab.StateExpired
				case strings.Contains(d, "revoked"):
					state = gitlab.StateRevoked
				}
				j.ident = Identification{Method: IdentByUse, State: state}
				st.ByUse++
				return nil
			})
		}
	}
	if err := eg.Wait(); err != nil {
		return st, err
	}
	for i := range rep.Variables {
		if j, ok := jobs[rep.Variables[i].Found.Digest]; ok && !rep.Variables[i].Hidden {
			rep.Variables[i].Ident = j.ident
		}
	}
	for _, j := range order {
		if j.ident.Method == "" {
			st.Unidentified++
		}
	}
	return st, nil
}

// resourceAccessToken reports whether t is a group or project access token:
// the ids POST /admin/token and GET …/self answer for access tokens are in
// their id space, not in that of deploy, trigger or runner tokens.
func resourceAccessToken(t gitlab.Token) bool {
	k := t.TokenKind()
	return k == gitlab.KindGroupAccessToken || k == gitlab.KindProjectAccessToken
}
