package sim

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

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
	line      int
	Name      string       `yaml:"name"`
	Username  string       `yaml:"username"`
	Scopes    []string     `yaml:"scopes"`
	CreatedAt *fixtureTime `yaml:"created_at"`
	ExpiresAt *fixtureTime `yaml:"expires_at"`
	Revoked   bool         `yaml:"revoked"`
	Secret    string       `yaml:"secret"`
}

type fixtureTrigger struct {
	line        int
	Description string       `yaml:"description"`
	Owner       string       `yaml:"owner"`
	CreatedAt   *fixtureTime `yaml:"created_at"`
	ExpiresAt   *fixtureTime `yaml:"expires_at"`
	LastUsed    *fixtureTime `yaml:"last_used"`
	Secret      string       `yaml:"secret"`
}

type fixtureRunner struct {
	line           int
	Description    string       `yaml:"description"`
	CreatedAt      *fixtureTime `yaml:"created_at"`
	ContactedAt    *fixtureTime `yaml:"contacted_at"`
	TokenExpiresAt *fixtureTime `yaml:"token_expires_at"`
	Secret         string       `yaml:"secret"`
}

func (d *fixtureDeployToken) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureDeployToken
	return decodeStrict(n, "DeployToken", (*plain)(d), &d.line)
}

func (t *fixtureTrigger) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureTrigger
	return decodeStrict(n, "Trigger", (*plain)(t), &t.line)
}

func (r *fixtureRunner) UnmarshalYAML(n *yaml.Node) error {
	type plain fixtureRunner
	return decodeStrict(n, "Runner", (*plain)(r), &r.line)
}

func (s *Server) loadCredentials(kind string, id int64, deploy []fixtureDeployToken, triggers []fixtureTrigger, runners []fixtureRunner) error {
	for _, d := range deploy {
		spec := DeployTokenSpec{Name: d.Name, Username: d.Username, Scopes: d.Scopes, ExpiresAt: d.ExpiresAt.ptr(), Revoked: d.Revoked, Secret: d.Secret}
		if d.CreatedAt != nil {
			spec.CreatedAt = d.CreatedAt.Time
		}
		if _, _, err := s.CreateDeployToken(kind, id, spec); err != nil {
			return fmt.Errorf("sim fixture: line %d: %w", d.line, err)
		}
	}
	for _, t := range triggers {
		u, ok := s.userNamed(t.Owner)
		if !ok {
			return fmt.Errorf("sim fixture: line %d: unknown trigger owner %q (list it under users:)", t.line, t.Owner)
		}
		spec := TriggerSpec{Description: t.Description, ExpiresAt: t.ExpiresAt.ptr(), LastUsed: t.LastUsed.ptr(), Secret: t.Secret}
		if t.CreatedAt != nil {
			spec.CreatedAt = t.CreatedAt.Time
		}
		if _, _, err := s.CreateTrigger(id, u.ID, spec); err != nil {
			return fmt.Errorf("sim fixture: line %d: %w", t.line, err)
		}
	}
	for _, r := range runners {
		spec := RunnerSpec{Description: r.Description, Type: kind + "_type", ContactedAt: r.ContactedAt.ptr(), TokenExpiresAt: r.TokenExpiresAt.ptr(), Secret: r.Secret}
		if r.CreatedAt != nil {
			spec.CreatedAt = r.CreatedAt.Time
		}
		if kind == "group" {
			spec.GroupID = id
		} else {
			spec.ProjectID = id
		}
		if _, _, err := s.CreateRunner(spec); err != nil {
			return fmt.Errorf("sim fixture: line %d: %w", r.line, err)
		}
	}
	return nil
}
