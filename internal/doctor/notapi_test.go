package doctor

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/sim/simtest"
)

// TestInstanceThatIsNotGitLab: a URL that answers with a web page or with
// broken JSON is not "✓ GitLab instance reachable": the instance check
// fails, says what came back, and points at the URL.
func TestInstanceThatIsNotGitLab(t *testing.T) {
	// The instance check reads /version without a token: a 401 there is
	// not the token's fault.
	cases := append(simtest.NotGitLabAnswers, simtest.NotGitLab{
		Name: "html sent as json with 401", ContentType: "application/json", Body: "<html></html>", Status: 401, Got: "broken JSON"})
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			srv := tc.Serve(t, nil)
			rep := runAt(srv.URL, 0)
			r := find(t, rep, "instance")
			if r.Status != StatusFailed || rep.Healthy {
				t.Fatalf("instance check: %s %q, want failed", r.Status, r.Detail)
			}
			want := "not a GitLab API at " + srv.URL + " (got " + tc.Got + ")"
			if !strings.Contains(r.Detail, want) || !strings.Contains(r.Fix, "root URL") {
				t.Errorf("instance check: detail %q fix %q; want %q and a fix about the URL", r.Detail, r.Fix, want)
			}
		})
	}
}

// TestInstanceThatNeverAnswers: a server that accepts and never answers
// fails the instance check after the configured timeout, saying so.
func TestInstanceThatNeverAnswers(t *testing.T) {
	b, err := simtest.NewBlackhole()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rep := runAt(b.URL, 300*time.Millisecond)
	r := find(t, rep, "instance")
	if r.Status != StatusFailed || !strings.Contains(r.Detail, "no answer within 300ms") || !strings.Contains(r.Fix, "--timeout") {
		t.Errorf("instance check: %s %q (fix %q); want a failure naming the 300ms timeout", r.Status, r.Detail, r.Fix)
	}
}

func find(t *testing.T, rep Report, name string) Result {
	t.Helper()
	for _, r := range rep.Checks {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no check %q in %+v", name, rep.Checks)
	return Result{}
}
