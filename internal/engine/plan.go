package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"gitlab.com/tokenwarden/tokenwarden/internal/config"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
	"gitlab.com/tokenwarden/tokenwarden/internal/journal"
	"gitlab.com/tokenwarden/tokenwarden/internal/managing"
	"gitlab.com/tokenwarden/tokenwarden/internal/schedule"
	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
	"gitlab.com/tokenwarden/tokenwarden/internal/sink"
)

// Action is what apply would do for one configured token.
type Action string

const (
	ActionCreate  Action = Action(schedule.Create)  // no active token by that name: mint one
	ActionRotate  Action = Action(schedule.Rotate)  // due for renewal
	ActionDeliver Action = Action(schedule.Deliver) // a sink lacks the live secret tokenwarden holds: deliver it, no new token
	ActionAdopt   Action = Action(schedule.Adopt)   // an adopted token's secret was never known: rotate to obtain one
	ActionResume  Action = "resume"                 // an unfinished rotation is carried on
	ActionNone    Action = Action(schedule.None)    // healthy; next rotation at RenewAt
	ActionError   Action = "error"                  // could not be evaluated (see Reason)
)

// Changes reports whether apply would act on an item with this action.
func (a Action) Changes() bool {
	switch a {
	case ActionCreate, ActionRotate, ActionDeliver, ActionAdopt, ActionResume:
		return true
	}
	return false
}

// Item is one line of a plan.
type Item struct {
	Ref        string          `json:"ref"`
	Action     Action          `json:"action"`
	Strategy   config.Strategy `json:"strategy"`
	Reason     string          `json:"reason"`
	Current    *gitlab.Token   `json:"current,omitempty"`
	RenewAt    *time.Time      `json:"renew_at,omitempty"`
	RotationID string          `json:"rotation_id,omitempty"`
	// RevokeAfter: a resumed overlap rotation waits for its grace period
	// until then before it revokes the old token.
	RevokeAfter *time.Time `json:"-"`
	// Warning says the token needs a person: its last rotation failed and
	// the live token is not yet healthy, verified and held by every sink.
	Warning string `json:"warning,omitempty"`
	// Note is information that needs nothing: a failure that no longer
	// counts, or sinks left alone under adopt: wait.
	Note    string       `json:"note,omitempty"`
	Deliver []string     `json:"deliver"`
	Token   config.Token `json:"-"`

	// live is the live token's secret when the journal holds it (for
	// ActionDeliver), and the rotation it comes from.
	live   secret.Credential
	liveOf string
	// Err is why the token could not be evaluated (Action error).
	Err error `json:"-"`
}

// Plan is what apply would do, token by token, in config order.
type Plan struct {
	At    time.Time `json:"at"`
	Items []Item    `json:"items"`
	// mark is the journal's write mark it was made at (Store.Written).
	mark int64
}

// Changes counts the items that would change something.
func (p *Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Action.Changes() {
			n++
		}
	}
	return n
}

// Plan works out what apply would do. It only reads: GitLab, the journal
// and the sinks (to see whether each holds the live token's secret).
func (e *Engine) Plan(ctx context.Context, cfg *config.Config) (*Plan, error) {
	return e.plan(ctx, cfg, nil)
}

// Replan is Plan for a daemon that made prev (with Plan or Replan) a
// while ago and wakes up because something is due. A token prev decided to
// leave alone until its renewal time, still ahead, whose journal rows were
// not written since and whose configuration is the same, keeps prev's item:
// it is not looked at again (no GitLab list, no sink read). Every other
// token is decided afresh. What changes outside tokenwarden — a sink edited
// by hand, a token revoked in GitLab — shows at the next Plan, which serve
// makes at each scan interval.
func (e *Engine) Replan(ctx context.Context, cfg *config.Config, prev *Plan) (*Plan, error) {
	_, written, err := e.d.Store.Written(ctx, prev.mark)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	now := e.d.Clock.Now()
	keep := map[string]Item{}
	for _, it := range prev.Items {
		if it.Action == ActionNone && it.Warning == "" && it.RenewAt != nil && now.Before(*it.RenewAt) && !slices.Contains(written, it.Ref) {
			keep[it.Ref] = it
		}
	}
	return e.plan(ctx, cfg, func(tok config.Token) (Item, bool) {
		it, ok := keep[tok.Ref()]
		return it, ok && reflect.DeepEqual(it.Token, tok)
	})
}

// plan is Plan; kept (when set) hands back the items to keep as they are.
func (e *Engine) plan(ctx context.Context, cfg *config.Config, kept func(config.Token) (Item, bool)) (*Plan, error) {
	now := e.d.Clock.Now()
	jv, err := e.planJournal(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	unfinished, err := jv.Unfinished(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	p := &Plan{At: now, mark: jv.mark}
	items := make([]*Item, len(cfg.Tokens))
	var todo []config.Token
	for i, tok := range cfg.Tokens {
		if kept != nil {
			if it, ok := kept(tok); ok {
				items[i] = &it
				continue
			}
		}
		todo = append(todo, tok)
	}
	ctx = e.withTokenLists(ctx, todo, unfinished)
	for i, tok := range cfg.Tokens {
		if items[i] != nil {
			p.Items = append(p.Items, *items[i])
			continue
		}
		it := Item{Ref: tok.Ref(), Strategy: tok.Strategy, Token: tok}
		sinks, sinksErr := e.d.Sinks(tok)
		for _, s := range sinks {
			it.Deliver = append(it.Deliver, s.Describe())
		}
		if i := slices.IndexFunc(unfinished, func(r *journal.Rotation) bool { return r.Ref == tok.Ref() }); i >= 0 {
			r := unfinished[i]
			it.Action, it.RotationID = ActionResume, r.ID
			it.Reason = fmt.Sprintf("rotation %s stopped at step %q", r.ID, r.Step)
			if r.Step == journal.StepVerified && r.RevokeAfter != nil {
				it.RevokeAfter = r.RevokeAfter
				if now.Before(*r.RevokeAfter) {
					it.Reason = fmt.Sprintf("rotation %s: old token %d is revoked after %s (grace)", r.ID, r.OldTokenID, r.RevokeAfter.UTC().Format(time.RFC3339))
				} else {
					it.Reason = fmt.Sprintf("rotation %s: the grace period is over; old token %d is revoked now", r.ID, r.OldTokenID)
				}
			}
			p.Items = append(p.Items, it)
			continue
		}
		if err := e.decide(ctx, jv, cfg, tok, sinks, sinksErr, &it); err != nil {
			if isJournalErr(err) {
				return nil, err
			}
			it.Action, it.Reason, it.Err = ActionError, err.Error(), err
		}
		p.Items = append(p.Items, it)
	}
	return p, nil
}

// journalError marks a failure to read the journal: Plan as a whole fails
// on it, unlike a GitLab or sink error that concerns one token.
type journalError struct{ err error }

func (e *journalError) Error() string { return "journal: " + e.err.Error() }
func (e *journalError) Unwrap() error { return e.err }

func isJournalErr(err error) bool {
	var je *journalError
	return errors.As(err, &je)
}

// decide gathers the facts about tok (GitLab's live token, the journal, what
// the sinks hold) and lets schedule.Decide fill it in.
// sinks (or sinksErr) are tok's sinks, built once per plan.
func (e *Engine) decide(ctx context.Context, jv planJournal, cfg *config.Config, tok config.Token, sinks []sink.Sink, sinksErr error, it *Item) error {
	now := e.d.Clock.Now()
	f := schedule.Facts{Now: now, AdoptWait: tok.AdoptWait}
	rows, err := jv.Rows(ctx, tok.Ref())
	if err != nil {
		return &journalError{err}
	}
	for _, r := range rows {
		if r.Kind == journal.KindRevocation {
			continue
		}
		if r.Step == journal.StepFailed {
			f.LastFailure = &schedule.Failure{RotationID: r.ID, Error: r.Error}
			// An overlap rotation that failed after delivering left two
			// live tokens; one that failed verification before any
			// delivery revoked its new token.
			if r.NewTokenID != 0 && r.OldTokenID != 0 && len(r.Delivered) > 0 && strategyOf(r) == config.StrategyOverlap && r.Kind == journal.KindRotation {
				f.LastFailure.Detail = fmt.Sprintf("new token %d and old token %d are both still alive", r.NewTokenID, r.OldTokenID)
			}
		}
		break
	}
	cur, err := e.current(ctx, tok)
	if err != nil {
		return err
	}
	it.Current = cur
	var sec secret.Credential
	runnerInterval := false
	triggerNote := "" // why an adopted trigger token must be rotated
	if cur != nil {
		f.Live = &schedule.Live{ID: cur.ID, CreatedAt: cur.CreatedAt, ExpiresAt: cur.ExpiresAt}
		if tok.IsRunnerToken() {
			f.Live, runnerInterval = runnerLive(cur, rows, tok.Lifetime)
			if !runnerInterval {
				cur.ExpiresAt = f.Live.ExpiresAt
			}
		}
		// What tokenwarden knows of the live token: the rotations (or
		// deliveries) that produced it, newest first.
		var delivered []string
		for _, r := range rows {
			if r.NewTokenID != cur.ID || r.Kind == journal.KindRevocation || r.Step == journal.StepPlanned {
				continue
			}
			delivered = append(delivered, r.Delivered...)
			switch r.Step {
			case journal.StepVerified, journal.StepOldRevoked, journal.StepDone:
				f.Verified = true
			}
			if sec.IsZero() {
				s, err := jv.Secret(ctx, r)
				if err != nil {
					return &journalError{err}
				}
				if !s.IsZero() {
					sec, it.liveOf = s, r.ID
					if tok.IsDeployToken() && sec.Username == "" {
						sec.Username = cur.Username // journaled before usernames were: GitLab lists it
					}
				}
			}
		}
		if sec.IsZero() && tok.IsTriggerToken() {
			if sec.Token, triggerNote, err = e.readTrigger(ctx, tok, cur); err != nil {
				return err
			}
		}
		f.SecretKnown = !sec.IsZero()
		if f.SecretKnown {
			if sinksErr != nil {
				return fmt.Errorf("sinks: %w", sinksErr)
			}
			if f.Sinks, err = e.holdings(ctx, sinks, sec, delivered); err != nil {
				return err
			}
			if !f.Verified && f.LastFailure != nil {
				// The failure may be behind us: check the live token
				// again, as its rotation would have.
				f.Verified = e.probe(ctx, tok, sec.Token, cur.ID) == nil
			}
		} else {
			for _, s := range sinks {
				f.Sinks = append(f.Sinks, schedule.SinkFact{Name: s.Describe(), Holding: schedule.Missing})
			}
		}
	}
	d := schedule.Decide(f, cfg.Schedule(tok), tok.Ref())
	it.Action, it.Reason, it.RenewAt, it.Warning, it.Note = Action(d.Action), d.Reason, d.RenewAt, d.Warning, d.Note
	if d.Action == schedule.Create {
		it.Reason = fmt.Sprintf("no active token named %q in %s", tok.Name, resourceName(tok))
	}
	if tok.IsRunnerToken() && f.Live != nil {
		it.Reason = runnerReason(it.Reason, tok, f.Live, runnerInterval)
	}
	if d.Action == schedule.Deliver {
		it.live = sec
	}
	if d.Action == schedule.Adopt {
		it.Reason += triggerNote
	}
	return nil
}

// readTrigger reads back the secret of trigger token cur, whose secret the
// journal does not hold: GitLab shows a trigger token in full to its owner
// (Ci::TriggerPresenter; docs/gitlab-api.md), so one the managing token's
// user owns is adopted as it is, not rotated. Of another owner's it says
// why adopting it means a new token.
func (e *Engine) readTrigger(ctx context.Context, tok config.Token, cur *gitlab.Token) (sec secret.Secret, why string, err error) {
	h, err := e.holderOf(ctx, tok)
	if err != nil {
		return secret.Secret{}, "", err
	}
	tt, ok := h.(triggerTokens)
	if !ok {
		return secret.Secret{}, "", nil
	}
	_, shown, full, err := tt.c.TriggerToken(ctx, tt.res, cur.ID)
	switch {
	case err != nil:
		return secret.Secret{}, "", err
	case !full:
		return secret.Secret{}, fmt.Sprintf(" (trigger token %d is owned by %s, and GitLab shows its secret to its owner only: the new one is the managing token's user's)", cur.ID, cur.Owner), nil
	}
	return shown, "", nil
}

// holdings reads each sink of tok back and compares it with the live
// token's secret. Write-only sinks count as holding it when the journal
// says it was delivered to them.
func (e *Engine) holdings(ctx context.Context, sinks []sink.Sink, live secret.Credential, delivered []string) ([]schedule.SinkFact, error) {
	var out []schedule.SinkFact
	for _, s := range sinks {
		f := schedule.SinkFact{Name: s.Describe()}
		got, err := s.Get(ctx)
		switch {
		case errors.Is(err, sink.ErrNotReadable):
			f.Holding = schedule.Missing
			if slices.Contains(delivered, s.ID()) {
				f.Holding = schedule.Holds
			}
		case errors.Is(err, sink.ErrNotFound):
			f.Holding = schedule.Missing
		case err != nil:
			return nil, fmt.Errorf("cannot read %s: %w", s.Describe(), err)
		case sink.Holds(got, live):
			f.Holding = schedule.Holds
		default:
			f.Holding = schedule.Changed
		}
		out = append(out, f)
	}
	return out, nil
}

func resourceName(tok config.Token) string {
	if tok.Group != "" {
		return "group " + tok.Group
	}
	return "project " + tok.Project
}

// current is the configured token's live GitLab token: the newest active one
// with its name, or nil when there is none.
func (e *Engine) current(ctx context.Context, tok config.Token) (*gitlab.Token, error) {
	api := e.d.GitLab
	if api == nil && tok.Strategy == config.StrategySelf {
		sec, err := e.currentSecret(ctx, tok)
		if err != nil {
			return nil, err
		}
		if api, err = e.d.ClientFor(sec); err != nil {
			return nil, err
		}
	}
	if api == nil {
		return nil, errors.New("no managing GitLab token configured (gitlab.token_env)")
	}
	if tok.IsRunnerToken() {
		return e.currentRunner(ctx, api, tok)
	}
	var list []gitlab.Token
	if !tok.IsAccessToken() {
		h, err := e.holderOf(ctx, tok)
		if err != nil {
			return nil, err
		}
		if list, err = h.named(ctx); err != nil {
			return nil, err
		}
	} else if lists, ok := ctx.Value(tokenListsKey{}).(*tokenLists); ok && api == e.d.GitLab {
		l, err := lists.of(tok)
		if err != nil {
			return nil, err
		}
		for _, t := range l {
			if t.Name == tok.Name {
				list = append(list, t)
			}
		}
	} else {
		res, err := e.resource(ctx, api, tok)
		if err != nil {
			return nil, err
		}
		if list, err = api.TokensNamed(ctx, res, tok.Name); err != nil {
			return nil, err
		}
	}
	now := e.d.Clock.Now()
	for _, t := range slices.Backward(list) {
		if t.Active && !t.Revoked && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt)) {
			return &t, nil
		}
	}
	return nil, nil
}

// RotateOptions adjust a manual rotation.
type RotateOptions struct {
	Strategy  config.Strategy // "" → the token's configured strategy
	ExpiresIn time.Duration   // 0 → the token's lifetime
	Reason    string
}

// Start journals a new rotation of tok and drives it as far as it can go.
func (e *Engine) Start(ctx context.Context, tok config.Token, current *gitlab.Token, opts RotateOptions) Outcome {
	return e.begin(ctx, tok, current, opts)(ctx)
}

// begin journals a new rotation of tok and returns what drives it.
func (e *Engine) begin(ctx context.Context, tok config.Token, current *gitlab.Token, opts RotateOptions) func(context.Context) Outcome {
	if opts.Strategy != "" {
		tok.Strategy = opts.Strategy
	}
	if opts.ExpiresIn > 0 {
		tok.Lifetime = opts.ExpiresIn
	}
	r := &journal.Rotation{
		Ref: tok.Ref(), Kind: journal.KindRotation, Strategy: string(tok.Strategy), TokenName: tok.Name,
		Reason: opts.Reason, StartedAt: e.d.Clock.Now(), UpdatedAt: e.d.Clock.Now(),
	}
	r.ResourceType, r.ResourcePath = tok.ResourceType(), tok.ResourcePath()
	if current != nil {
		r.OldTokenID = current.ID
	} else {
		// Nothing to rotate from: rotate and self need a token to start with.
		r.Kind, r.Strategy = journal.KindCreation, string(config.StrategyOverlap)
	}
	if err := e.d.Store.Create(ctx, r); err != nil {
		return outcome(Outcome{Rotation: r, Status: StatusFailed, Err: fmt.Errorf("journal: %w", err)})
	}
	if err := e.journalSteps().At(r, journal.StepPlanned, true); err != nil {
		return outcome(Outcome{Rotation: r, Status: StatusRetry, Err: err})
	}
	tok.Strategy = strategyOf(r)
	return func(ctx context.Context) Outcome { return e.drive(ctx, r, tok) }
}

// outcome is a job that has already ended with o.
func outcome(o Outcome) func(context.Context) Outcome {
	return func(context.Context) Outcome { return o }
}

// Resume carries every unfinished rotation on, the rotations of different
// tokens side by side (Deps.Concurrency). Tokens no longer in cfg fail with
// a clear reason: their sinks are unknown now. The outcomes are in the
// journal's order.
func (e *Engine) Resume(ctx context.Context, cfg *config.Config) ([]Outcome, error) {
	jobs, err := e.resumeJobs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return e.pipeline(ctx, jobs, nil), nil
}

func (e *Engine) resumeJobs(ctx context.Context, cfg *config.Config) ([]job, error) {
	unfinished, err := e.d.Store.Unfinished(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var jobs []job
	for _, r := range unfinished {
		if r.Ref == managing.Ref {
			continue // the managing token's own renewal: internal/managing resumes it
		}
		i := slices.IndexFunc(cfg.Tokens, func(t config.Token) bool { return t.Ref() == r.Ref })
		if i < 0 {
			jobs = append(jobs, job{r.Ref, func(context.Context) func(context.Context) Outcome {
				return func(ctx context.Context) Outcome {
					return e.fail(ctx, r, fmt.Errorf("%s is no longer in the config; finish by hand (new token %d, old token %d)", r.Ref, r.NewTokenID, r.OldTokenID))
				}
			}})
			continue
		}
		tok := cfg.Tokens[i]
		tok.Strategy = strategyOf(r)
		jobs = append(jobs, job{r.Ref, func(context.Context) func(context.Context) Outcome {
			return func(ctx context.Context) Outcome { return e.drive(ctx, r, tok) }
		}})
	}
	return jobs, nil
}

// Apply resumes unfinished rotations and carries out the plan (creations,
// rotations, adoptions and deliveries), the tokens side by side
// (Deps.Concurrency), each token's steps in order. The outcomes are the
// resumed rotations' in the journal's order, then the plan's in its order,
// whatever order they finish in.
func (e *Engine) Apply(ctx context.Context, cfg *config.Config, p *Plan) ([]Outcome, error) {
	jobs, err := e.resumeJobs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	resumed := map[string]bool{}
	for _, j := range jobs {
		resumed[j.ref] = true
	}
	for _, it := range p.Items {
		if it.Action == ActionResume || !it.Action.Changes() || resumed[it.Ref] {
			continue
		}
		jobs = append(jobs, e.itemJob(it, nil))
	}
	return e.pipeline(ctx, jobs, nil), ctx.Err()
}

// RunAll carries out plan items side by side (Deps.Concurrency), as Run
// does one. start (when set) is asked as an item is about to begin: false
// leaves it out (the daemon stops starting rotations when it is told to
// stop, while those under way finish with ctx). done (when set) is called
// with each outcome as it ends. Both are called one at a time. The
// outcomes are in the order of items; items not started are left out.
func (e *Engine) RunAll(ctx context.Context, items []Item, start func(Item) bool, done func(Outcome)) []Outcome {
	jobs := make([]job, len(items))
	for i, it := range items {
		var st func() bool
		if start != nil {
			st = func() bool { return start(it) }
		}
		jobs[i] = e.itemJob(it, st)
	}
	return e.pipeline(ctx, jobs, done)
}

// itemJob is the job of plan item it: its rotation is journaled when its
// turn comes, in the plan's order, so that the journal lists the rotations
// of one run in that order.
func (e *Engine) itemJob(it Item, start func() bool) job {
	return job{it.Ref, func(ctx context.Context) func(context.Context) Outcome {
		if start != nil && !start() {
			return nil
		}
		return e.beginItem(ctx, it, RotateOptions{Reason: it.Reason})
	}}
}

// Run carries out one plan item: a creation, rotation or adoption starts a
// rotation; a delivery hands the live token's known secret to the sinks that
// lack it, with no new token.
func (e *Engine) Run(ctx context.Context, it Item, opts RotateOptions) Outcome {
	return e.beginItem(ctx, it, opts)(ctx)
}

// beginItem journals what Run does for it and returns what drives it.
func (e *Engine) beginItem(ctx context.Context, it Item, opts RotateOptions) func(context.Context) Outcome {
	if it.Action == ActionDeliver && opts.Strategy == "" && opts.ExpiresIn == 0 {
		return e.beginDelivery(ctx, it)
	}
	return e.begin(ctx, it.Token, it.Current, opts)
}

// StartDelivery journals a delivery of the live token's secret (known from
// an earlier rotation) and drives it: deliver to every sink, verify, done.
// Nothing is minted or revoked.
func (e *Engine) StartDelivery(ctx context.Context, it Item) Outcome {
	return e.beginDelivery(ctx, it)(ctx)
}

func (e *Engine) beginDelivery(ctx context.Context, it Item) func(context.Context) Outcome {
	tok, cur := it.Token, it.Current
	now := e.d.Clock.Now()
	r := &journal.Rotation{
		Ref: tok.Ref(), Kind: journal.KindDelivery, Strategy: string(tok.Strategy), TokenName: tok.Name,
		Reason: it.Reason, StartedAt: now, UpdatedAt: now,
		Step: journal.StepMinted, NewSecret: it.live.Token, NewUsername: it.live.Username,
	}
	r.ResourceType, r.ResourcePath = tok.ResourceType(), tok.ResourcePath()
	if cur == nil || it.live.IsZero() { // not a deliver item: nothing was journaled
		return outcome(Outcome{Rotation: r, Status: StatusFailed, Err: errors.New("nothing to deliver: the live token's secret is not in the journal")})
	}
	r.NewTokenID, r.NewExpiresAt = cur.ID, cur.ExpiresAt
	if err := e.d.Store.Create(ctx, r); err != nil {
		return outcome(Outcome{Rotation: r, Status: StatusFailed, Err: fmt.Errorf("journal: %w", err)})
	}
	e.d.Log.Info("delivery", "rotation", r.ID, "ref", r.Ref, "token", cur.ID, "secret_from", it.liveOf)
	return func(ctx context.Context) Outcome { return e.drive(ctx, r, tok) }
}

// tokenLists are, for one plan, the access tokens of every group and
// project the config's tokens live on, each resource resolved and listed
// once (concurrently, planListConcurrency at a time) before the tokens are
// decided: one list call per resource (and per 100 tokens), not one per
// managed token.
type tokenLists struct {
	byResource map[[2]string]listed
}

type listed struct {
	tokens []gitlab.Token // id ascending
	err    error
}

type tokenListsKey struct{}

// planListConcurrency is how many resources a plan lists at once.
const planListConcurrency = 8

// withTokenLists lists the resources of toks with the managing
// client and returns ctx carrying them for current. Tokens resumed from the
// journal are left out (their plan reads nothing from GitLab); without a
// managing client (self-rotating tokens only) nothing is listed.
func (e *Engine) withTokenLists(ctx context.Context, toks []config.Token, unfinished []*journal.Rotation) context.Context {
	if e.d.GitLab == nil {
		return ctx
	}
	lists := &tokenLists{byResource: map[[2]string]listed{}}
	var todo [][2]string
	for _, tok := range toks {
		if !tok.IsAccessToken() || slices.ContainsFunc(unfinished, func(r *journal.Rotation) bool { return r.Ref == tok.Ref() }) {
			continue // the other kinds' lists are read by current
		}
		k := [2]string{tok.ResourceType(), tok.ResourcePath()}
		if _, ok := lists.byResource[k]; !ok {
			lists.byResource[k] = listed{}
			todo = append(todo, k)
		}
	}
	results := make([]listed, len(todo))
	var eg errgroup.Group
	eg.SetLimit(planListConcurrency)
	for i, k := range todo {
		eg.Go(func() error {
			res, err := e.d.GitLab.Resolve(ctx, k[0], k[1])
			if err == nil {
				var toks []gitlab.Token
				toks, err = e.d.GitLab.AccessTokens(ctx, res)
				sortTokens(toks)
				results[i] = listed{tokens: toks}
			}
			results[i].err = err
			return nil
		})
	}
	_ = eg.Wait()
	for i, k := range todo {
		lists.byResource[k] = results[i]
	}
	return context.WithValue(ctx, tokenListsKey{}, lists)
}

// of is tok's resource's tokens, or why they could not be listed.
func (l *tokenLists) of(tok config.Token) ([]gitlab.Token, error) {
	r, ok := l.byResource[[2]string{tok.ResourceType(), tok.ResourcePath()}]
	if !ok {
		return nil, fmt.Errorf("%s %s was not listed", tok.ResourceType(), tok.ResourcePath())
	}
	return r.tokens, r.err
}
