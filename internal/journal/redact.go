package journal

import (
	"context"

	"gitlab.com/tokenwarden/tokenwarden/internal/secret"
)

// Redacting wraps s so that no secret of the process reaches the journal in
// plain text: the free text of a rotation (its reason, its error) and of its
// events is scrubbed by r before it is written, because it quotes the world
// outside (a hook's stderr, a GitLab or database error). Every rotation
// secret it writes or reads is added to r, so that the process knows it from
// then on.
func Redacting(s Store, r *secret.Redactor) Store {
	return &redactingStore{Store: s, r: r}
}

type redactingStore struct {
	Store
	r *secret.Redactor
}

func (s *redactingStore) scrub(r *Rotation) {
	s.r.Add(r.NewSecret)
	r.Reason = s.r.Scrub(r.Reason)
	r.Error = s.r.Scrub(r.Error)
}

func (s *redactingStore) Create(ctx context.Context, r *Rotation) error {
	s.scrub(r)
	return s.Store.Create(ctx, r)
}

func (s *redactingStore) Update(ctx context.Context, r *Rotation, detail string) error {
	s.scrub(r)
	return s.Store.Update(ctx, r, s.r.Scrub(detail))
}

func (s *redactingStore) Get(ctx context.Context, id string) (*Rotation, error) {
	r, err := s.Store.Get(ctx, id)
	if r != nil {
		s.r.Add(r.NewSecret)
	}
	return r, err
}

func (s *redactingStore) Unfinished(ctx context.Context) ([]*Rotation, error) {
	rs, err := s.Store.Unfinished(ctx)
	for _, r := range rs {
		s.r.Add(r.NewSecret)
	}
	return rs, err
}
