package sim

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentRequests runs readers, writers and fixture calls at once
// (meaningful under -race) and checks that no write was lost.
func TestConcurrentRequests(t *testing.T) {
	s, base, _ := newConformance(t, Options{RateLimit: 10000})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				body := fmt.Sprintf(`{"name":"c%d-%d","scopes":["read_api"]}`, i, j)
				if code, err := rawDo(t, "POST", base+"/api/v4/groups/1/access_tokens", aliceSecret, body); err != nil || code != 201 {
					t.Errorf("create: %d %v", code, err)
				}
				if code, err := rawDo(t, "GET", base+"/api/v4/groups/1/access_tokens?per_page=100", aliceSecret, ""); err != nil || code != 200 {
					t.Errorf("list: %d %v", code, err)
				}
				_ = s.Stats()
			}
		})
	}
	wg.Wait()
	if got := s.Stats().GroupTokens; got != 41 {
		t.Errorf("group tokens = %d, want 41", got)
	}
}
