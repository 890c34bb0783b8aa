package sim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// BenchmarkTokenList measures one page of a project's access tokens, and the
// groups and projects lists an inventory walks, as the instance grows: the
// cost per request should not grow with it (issue 13).
//
//	go test -run '^$' -bench TokenList -benchmem ./internal/sim
func BenchmarkTokenList(b *testing.B) {
	for _, size := range []struct{ groups, perGroup, tokens int }{
		{10, 10, 10},   // 1,110 tokens
		{100, 10, 10},  // 11,100 tokens
		{1000, 10, 10}, // 110,100 tokens (with the 1000 group tokens)
	} {
		s, err := New(Options{Clock: clock.NewFake(t0), Seed: 1, RootToken: rootSecret,
			Groups: size.groups, ProjectsPerGroup: size.perGroup, TokensPerProject: size.tokens})
		if err != nil {
			b.Fatal(err)
		}
		n := s.Stats().GroupTokens + s.Stats().ProjectTokens
		for _, path := range []string{
			"/api/v4/projects/5/access_tokens?per_page=100",
			"/api/v4/groups/3/access_tokens?per_page=100",
			"/api/v4/groups/3/projects?per_page=100",
			"/api/v4/groups/3/subgroups?per_page=100",
		} {
			b.Run(fmt.Sprintf("tokens=%d%s", n, path[len("/api/v4"):len(path)-len("?per_page=100")]), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := httptest.NewRequest(http.MethodGet, path, nil)
					r.Header.Set("PRIVATE-TOKEN", rootSecret)
					w := httptest.NewRecorder()
					s.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", path, w.Code, w.Body)
					}
				}
			})
		}
	}
}
