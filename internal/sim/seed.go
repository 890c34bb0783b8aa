package sim

import (
	"fmt"
	"strconv"
	"time"
)

// The seeded generator builds a realistic instance: nested groups, projects,
// and group/project tokens with a spread of ages, expiries (expired, expiring
// within 7 and 30 days, long), scopes, access levels, last use (recent, old,
// never), a few revoked, some badly named or without description. The same
// seed and clock start give the same instance.

var (
	groupWords   = []string{"platform", "payments", "data", "mobile", "web", "infra", "security", "ml", "search", "billing", "identity", "growth", "observability", "tooling", "checkout", "messaging"}
	projectWords = []string{"api", "web", "worker", "deploy", "docs", "cli", "sdk", "etl", "gateway", "scheduler", "frontend", "backend", "charts", "terraform", "monitoring", "auth"}
	goodNames    = []string{"deploy", "ci-pipeline", "renovate", "release-bot", "registry-pull", "terraform", "sonar", "backup", "mirror", "argocd", "helm-publish", "dependency-scan"}
	badNames     = []string{"test", "token", "asdf", "my token", "tmp", "new token"}
	descriptions = []string{"pushes images from CI", "used by the nightly backup job", "Argo CD reads manifests", "release pipeline tags and publishes", "dependency updates", "read-only access for the dashboard"}
	humans       = []struct {
		name  string
		level int
	}{{"alice", 50}, {"bob", 40}, {"carol", 30}}
)

// generate builds the groups, projects and access tokens, and returns the
// tokens with their secrets (for generateVariables).
func (s *Server) generate(groups, projectsPerGroup, tokensPerProject int) ([]seededToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	r := s.st.rng
	var minted []seededToken
	var users []*user
	for _, h := range humans {
		u := s.st.userByName(h.name)
		if u == nil {
			u = &user{ID: s.st.id("user"), Username: h.name, Name: h.name, Email: h.name + "@" + s.host, CreatedAt: now}
			s.st.addUser(u)
		}
		users = append(users, u)
	}
	var made []*group
	for i := range groups {
		var parentID int64
		if i > 0 && r.IntN(10) < 3 {
			parentID = made[r.IntN(len(made))].ID
		}
		word := groupWords[i%len(groupWords)]
		path := word
		if i >= len(groupWords) {
			path = fmt.Sprintf("%s-%d", word, i/len(groupWords)+1)
		}
		g, err := s.st.addGroup(&group{Name: path, Path: path, ParentID: parentID, CreatedAt: now.Add(-time.Duration(400+r.IntN(400)) * 24 * time.Hour)})
		if err != nil {
			return nil, fmt.Errorf("sim generate: group %s: %w", path, err)
		}
		made = append(made, g)
		if parentID == 0 {
			for j, u := range users {
				s.st.setMember(memberKey{"group", g.ID, u.ID}, humans[j].level, g.CreatedAt)
			}
		}
		if tokensPerProject > 0 {
			minted = append(minted, s.generateToken("group", g.ID, now))
		}
		for j := range projectsPerGroup {
			word := projectWords[j%len(projectWords)]
			ppath := word
			if j >= len(projectWords) {
				ppath = fmt.Sprintf("%s-%d", word, j/len(projectWords)+1)
			}
			p, err := s.st.addProject(&project{Name: ppath, Path: ppath, NamespaceID: g.ID, CreatedAt: now.Add(-time.Duration(30+r.IntN(360)) * 24 * time.Hour)})
			if err != nil {
				return nil, fmt.Errorf("sim generate: project %s: %w", ppath, err)
			}
			for range tokensPerProject {
				minted = append(minted, s.generateToken("project", p.ID, now))
			}
		}
	}
	return minted, nil
}

func (s *Server) generateToken(kind string, resID int64, now time.Time) seededToken {
	r := s.st.rng
	day := 24 * time.Hour
	today := dateOf(now)
	created := now.Add(-time.Duration(1+r.IntN(330)) * day).Truncate(time.Second)

	var exp *time.Time
	switch x := r.IntN(100); {
	case x < 12: // expired
		e := today.AddDate(0, 0, -1-r.IntN(20))
		exp = &e
	case x < 22: // within 7 days
		e := today.AddDate(0, 0, 1+r.IntN(7))
		exp = &e
	case x < 35: // within 30 days
		e := today.AddDate(0, 0, 8+r.IntN(23))
		exp = &e
	case x < 97: // long
		e := today.AddDate(0, 0, 31+r.IntN(200))
		exp = &e
	}
	if exp != nil {
		if !created.Before(*exp) {
			created = exp.Add(-30 * day)
		}
		if exp.Sub(created) > 365*day {
			created = exp.Add(-365 * day)
		}
	}

	scopes := []string{"api"}
	switch x := r.IntN(100); {
	case x < 20:
		scopes = []string{"read_api"}
	case x < 30:
		scopes = []string{"read_repository"}
	case x < 38:
		scopes = []string{"read_registry", "write_registry"}
	case x < 45:
		scopes = []string{"api", "write_repository"}
	}
	level := 40
	switch x := r.IntN(100); {
	case x < 15:
		level = 50
	case x < 35:
		level = 30
	case x < 45:
		level = 20
	case x < 50:
		level = 10
	}

	var last *time.Time
	switch x := r.IntN(100); {
	case x < 45:
		l := now.Add(-time.Duration(r.IntN(7*24*60)) * time.Minute)
		last = &l
	case x < 55:
		l := now.Add(-time.Duration(10+r.IntN(50)) * day)
		last = &l
	case x < 75:
		l := now.Add(-time.Duration(91+r.IntN(150)) * day)
		last = &l
	}
	if last != nil && last.Before(created) {
		l := created.Add(time.Hour)
		last = &l
	}
	if last != nil && exp != nil && last.After(*exp) {
		l := exp.Add(-time.Hour)
		last = &l
	}

	name := goodNames[r.IntN(len(goodNames))]
	if r.IntN(100) < 12 {
		name = badNames[r.IntN(len(badNames))]
	}
	desc := ""
	if r.IntN(100) >= 30 {
		desc = descriptions[r.IntN(len(descriptions))]
	}
	revoked := r.IntN(100) < 5
	t, secret := s.mintResourceToken(kind, resID, TokenSpec{Name: name, Description: desc, Scopes: scopes,
		AccessLevel: level, CreatedAt: created, LastUsedAt: last, Revoked: revoked}, now)
	t.ExpiresAt = exp
	if revoked {
		t.RevokedAt = now.Add(-time.Duration(r.IntN(20)) * day)
	}
	return seededToken{t, secret}
}

// generateCredentials adds deploy tokens and pipeline trigger tokens to every
// project and runners to every top-level group, with the same spread of
// expiries as access tokens (deploy tokens: a fifth never expire; trigger
// tokens: most have no expiry, as GitLab's API makes them by default). It
// runs after generate, so the access-token part of a seeded instance does not
// change.
func (s *Server) generateCredentials(deployPerProject, triggersPerProject, runnersPerGroup int) {
	if deployPerProject <= 0 && triggersPerProject <= 0 && runnersPerGroup <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	r := s.st.rng
	day := 24 * time.Hour
	expiry := func(neverPct int) *time.Time {
		x := r.IntN(100)
		if x < neverPct {
			return nil
		}
		var e time.Time
		switch x = r.IntN(100); {
		case x < 12:
			e = dateOf(now).AddDate(0, 0, -1-r.IntN(20))
		case x < 22:
			e = dateOf(now).AddDate(0, 0, 1+r.IntN(7))
		case x < 35:
			e = dateOf(now).AddDate(0, 0, 8+r.IntN(23))
		default:
			e = dateOf(now).AddDate(0, 0, 31+r.IntN(200))
		}
		return &e
	}
	deployScopes := [][]string{{"read_registry"}, {"read_repository"}, {"read_registry", "write_registry"}, {"read_package_registry"}, {"read_repository", "read_registry", "write_registry", "read_package_registry", "write_package_registry"}}
	deployNames := []string{"k8s-pull", "argocd", "registry-pull", "packages", "mirror"}
	var owner int64
	if u := s.st.userByName("bob"); u != nil {
		owner = u.ID
	}
	for _, p := range s.st.projectList {
		for i := range deployPerProject {
			s.st.addDeployToken("project", p.ID, DeployTokenSpec{Name: deployNames[(i+r.IntN(len(deployNames)))%len(deployNames)],
				Scopes: deployScopes[r.IntN(len(deployScopes))], ExpiresAt: expiry(20), Revoked: r.IntN(100) < 3,
				CreatedAt: now.Add(-time.Duration(1+r.IntN(300)) * day)}, now)
		}
		for range triggersPerProject {
			var last *time.Time
			if r.IntN(100) < 60 {
				l := now.Add(-time.Duration(r.IntN(120*24)) * time.Hour)
				last = &l
			}
			s.st.addTrigger(p.ID, owner, TriggerSpec{Description: []string{"nightly", "downstream deploy", "release", "docs rebuild"}[r.IntN(4)],
				ExpiresAt: expiry(70), LastUsed: last, CreatedAt: now.Add(-time.Duration(130+r.IntN(300)) * day)}, now)
		}
	}
	for _, g := range s.st.groupList {
		if g.ParentID != 0 {
			continue
		}
		for i := range runnersPerGroup {
			contacted := now.Add(-time.Duration(r.IntN(72*60)) * time.Minute)
			s.st.addRunner(RunnerSpec{Description: s.st.groupFullPath(g) + "-runner-" + strconv.Itoa(i+1), Type: "group_type", GroupID: g.ID,
				ContactedAt: &contacted, TokenExpiresAt: expiry(50), CreatedAt: now.Add(-time.Duration(1+r.IntN(300)) * day)}, now)
		}
	}
}
