package sim

import (
	"testing"
	"time"
)

// GitLab keeps inactive group and project access tokens listed until its
// daily job deletes their bot user, 30 days after the bot's last token became
// inactive: a token rotated away stays while its family lives; a revoked
// token alone goes, and its secret is then unknown. People's personal tokens
// are never deleted.
func TestConformanceInactiveRetention(t *testing.T) {
	s, base, fake := newConformance(t, Options{})
	exp := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	fam, _ := platformToken(t, s, TokenSpec{Name: "family", Scopes: []string{"read_api"}, ExpiresAt: &exp})
	lone, loneSecret := platformToken(t, s, TokenSpec{Name: "lone", Scopes: []string{"read_api"}, ExpiresAt: &exp})
	pat, _, err := s.CreatePersonalToken(3, TokenSpec{Name: "bob-old", Scopes: []string{"read_api"}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	famID, loneID, patID := itoa64(fam.ID), itoa64(lone.ID), itoa64(pat.ID)
	runSteps(t, base, []step{
		{name: "rotate", method: "POST", path: "/groups/1/access_tokens/" + famID + "/rotate", token: aliceSecret, body: `{"expires_at":"2027-06-01"}`, code: 200},
		{name: "revoke", method: "DELETE", path: "/groups/1/access_tokens/" + loneID, token: aliceSecret, code: 204},
		{name: "revoke again: still there, revoke! is a no-op", method: "DELETE", path: "/groups/1/access_tokens/" + loneID, token: aliceSecret, code: 204},
		{name: "revoke a personal token", method: "DELETE", path: "/personal_access_tokens/" + patID, token: bobSecret, code: 204},
	})
	fake.Advance(29 * 24 * time.Hour)
	runSteps(t, base, []step{
		{name: "revoked 29 days ago: listed", path: "/groups/1/access_tokens?search=lone", token: aliceSecret, code: 200, contains: []string{`"id":` + loneID + `,`, `"revoked":true`}},
	})
	fake.Advance(2 * 24 * time.Hour)
	runSteps(t, base, []step{
		{name: "rotated away 31 days ago, family alive: listed", path: "/groups/1/access_tokens?search=family", token: aliceSecret, code: 200, contains: []string{`"id":` + famID + `,`, `"revoked":true`}},
		{name: "…and readable", path: "/groups/1/access_tokens/" + famID, token: aliceSecret, code: 200},
		{name: "revoked alone 31 days ago: gone", path: "/groups/1/access_tokens?search=lone", token: aliceSecret, code: 200, want: `[]`},
		{name: "…get", path: "/groups/1/access_tokens/" + loneID, token: aliceSecret, code: 404},
		{name: "…delete", method: "DELETE", path: "/groups/1/access_tokens/" + loneID, token: aliceSecret, code: 404},
		{name: "…its secret is unknown now", path: "/personal_access_tokens/self", token: loneSecret, code: 401, want: body401},
		{name: "personal tokens stay", path: "/personal_access_tokens", token: bobSecret, code: 200, contains: []string{`"id":` + patID + `,`, `"revoked":true`}},
	})
}

// search is GitLab's fuzzy name search: words of 3+ characters, each
// somewhere in the name, any case, any order; shorter queries match the whole
// name only.
func TestConformanceTokenSearch(t *testing.T) {
	s, base, _ := newConformance(t, Options{})
	for _, name := range []string{"prod-deploy", "Deploy Staging", "ci", "ci-runner", "my token"} {
		platformToken(t, s, TokenSpec{Name: name, Scopes: []string{"read_api"}})
	}
	names := func(ns ...string) []string {
		var out []string
		for _, n := range ns {
			out = append(out, `"name":"`+n+`"`)
		}
		return out
	}
	runSteps(t, base, []step{
		{name: "one word, any case", path: "/groups/1/access_tokens?search=DEPLOY", token: aliceSecret, code: 200,
			contains: names("prod-deploy", "Deploy Staging"), absent: names("ci", "ci-runner")},
		{name: "words in any order", path: "/groups/1/access_tokens?search=deploy+prod", token: aliceSecret, code: 200,
			contains: names("prod-deploy"), absent: names("Deploy Staging")},
		{name: "short words are left out", path: "/groups/1/access_tokens?search=my+token", token: aliceSecret, code: 200,
			contains: names("my token")},
		{name: "a quoted phrase is one word", path: "/groups/1/access_tokens?search=%22deploy+staging%22", token: aliceSecret, code: 200,
			contains: names("Deploy Staging"), absent: names("prod-deploy")},
		{name: "a short query matches whole names only", path: "/groups/1/access_tokens?search=ci", token: aliceSecret, code: 200,
			contains: names("ci"), absent: names("ci-runner")},
		{name: "personal tokens search the same way", path: "/personal_access_tokens?search=LAP", token: aliceSecret, code: 200,
			contains: names("laptop")},
	})
}
