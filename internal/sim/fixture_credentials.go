package sim

// Fixture keys for the credentials beyond access tokens, on a group or a
// project:
//
//	deploy_tokens: [{name: k8s-pull, username: "", scopes: [read_registry],
//	                 expires_at: 2027-01-01, revoked: false, secret: gldt-…}]
//	runners: [{description: shared-1, created_at: …, contacted_at: …,
//	           token_expires_at: 2027-01-01, secret: glrt-…}]
//	triggers: [{description: nightly, owner: bob, expires_at: …,
//	            last_used: …, secret: glptt-…}]     # projects only

type fixtureDeployToken struct {
	Name      string       `yaml:"name"`
	Username  string       `yaml:"username"`
	Scopes    []string     `yaml:"scopes"`
	CreatedAt *fixtureTime `yaml:"created_at"`
	ExpiresAt *fixtureTime `yaml:"expires_at"`
	Revoked   bool         `yaml:"revoked"`
	Secret    string       `yaml:"secret"`
}

type fixtureTrigger struct {
	Description string       `yaml:"description"`
	Owner       string       `yaml:"owner"`
	CreatedAt   *fixtureTime `yaml:"created_at"`
	ExpiresAt   *fixtureTime `yaml:"expires_at"`
	LastUsed    *fixtureTime `yaml:"last_used"`
	Secret      string       `yaml:"secret"`
}

type fixtureRunner struct {
	Description    string       `yaml:"description"`
	CreatedAt      *fixtureTime `yaml:"created_at"`
	ContactedAt    *fixtureTime `yaml:"contacted_at"`
	TokenExpiresAt *fixtureTime `yaml:"token_expires_at"`
	Secret         string       `yaml:"secret"`
}

func (s *Server) loadCredentials(kind string, id int64, deploy []lined[fixtureDeployToken], triggers []lined[fixtureTrigger], runners []lined[fixtureRunner]) error {
	for _, l := range deploy {
		d := l.v
		spec := DeployTokenSpec{Name: d.Name, Username: d.Username, Scopes: d.Scopes, CreatedAt: d.CreatedAt.value(),
			ExpiresAt: d.ExpiresAt.ptr(), Revoked: d.Revoked, Secret: d.Secret}
		if _, _, err := s.CreateDeployToken(kind, id, spec); err != nil {
			return l.errorf("%w", err)
		}
	}
	for _, l := range triggers {
		t := l.v
		u, ok := s.userNamed(t.Owner)
		if !ok {
			return l.errorf("unknown trigger owner %q (list it under users:)", t.Owner)
		}
		spec := TriggerSpec{Description: t.Description, CreatedAt: t.CreatedAt.value(), ExpiresAt: t.ExpiresAt.ptr(),
			LastUsed: t.LastUsed.ptr(), Secret: t.Secret}
		if _, _, err := s.CreateTrigger(id, u.ID, spec); err != nil {
			return l.errorf("%w", err)
		}
	}
	for _, l := range runners {
		r := l.v
		spec := RunnerSpec{Description: r.Description, Type: kind + "_type", CreatedAt: r.CreatedAt.value(),
			ContactedAt: r.ContactedAt.ptr(), TokenExpiresAt: r.TokenExpiresAt.ptr(), Secret: r.Secret}
		if kind == "group" {
			spec.GroupID = id
		} else {
			spec.ProjectID = id
		}
		if _, _, err := s.CreateRunner(spec); err != nil {
			return l.errorf("%w", err)
		}
	}
	return nil
}
