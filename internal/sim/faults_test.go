package sim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawDo sends one request on a fresh connection (no transparent retries).
func rawDo(t *testing.T, method, url, token, body string) (int, error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

func TestFaults(t *testing.T) {
	create := `{"name":"lost","scopes":["api"]}`
	countNamed := func(s *Server, name string) int {
		n := 0
		for _, tk := range s.Tokens() {
			if tk.Name == name {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name  string
		setup func(f *Faults)
		check func(t *testing.T, s *Server, base string)
	}{
		{"drop after commit performs the change but loses the response", func(f *Faults) { f.DropAfterCommit("POST", `/access_tokens$`, 1) },
			func(t *testing.T, s *Server, base string) {
				if _, err := rawDo(t, "POST", base+"/api/v4/groups/1/access_tokens", aliceSecret, create); err == nil {
					t.Fatal("request got a response")
				}
				if n := countNamed(s, "lost"); n != 1 {
					t.Fatalf("%d tokens committed, want 1", n)
				}
				if code, err := rawDo(t, "POST", base+"/api/v4/groups/1/access_tokens", aliceSecret, create); err != nil || code != 201 {
					t.Fatalf("next request: %d %v", code, err)
				}
			}},
		{"drop only matches method and path", func(f *Faults) { f.DropAfterCommit("POST", `/access_tokens$`, 1) },
			func(t *testing.T, s *Server, base string) {
				if code, err := rawDo(t, "GET", base+"/api/v4/groups/1/access_tokens", aliceSecret, ""); err != nil || code != 200 {
					t.Fatalf("GET: %d %v", code, err)
				}
			}},
		{"connection reset changes nothing", func(f *Faults) { f.ResetConnection("*", `/access_tokens$`, 2) },
			func(t *testing.T, s *Server, base string) {
				for range 2 {
					if _, err := rawDo(t, "POST", base+"/api/v4/groups/1/access_tokens", aliceSecret, create); err == nil {
						t.Fatal("request got a response")
					}
				}
				if n := countNamed(s, "lost"); n != 0 {
					t.Fatalf("%d tokens created through a reset", n)
				}
				if code, _ := rawDo(t, "POST", base+"/api/v4/groups/1/access_tokens", aliceSecret, create); code != 201 {
					t.Fatalf("third request: %d", code)
				}
			}},
		{"throttle burst", func(f *Faults) { f.Throttle(2) },
			func(t *testing.T, s *Server, base string) {
				var codes []int
				for range 3 {
					code, _ := rawDo(t, "GET", base+"/api/v4/user", aliceSecret, "")
					codes = append(codes, code)
				}
				if codes[0] != 429 || codes[1] != 429 || codes[2] != 200 || s.Stats().Throttled != 2 {
					t.Fatalf("codes %v, throttled %d", codes, s.Stats().Throttled)
				}
			}},
		{"fail rate", func(f *Faults) { f.FailRate(1) },
			func(t *testing.T, s *Server, base string) {
				if code, _ := rawDo(t, "GET", base+"/api/v4/user", aliceSecret, ""); code != 500 {
					t.Fatalf("code %d", code)
				}
				s.Faults().Clear()
				if code, _ := rawDo(t, "GET", base+"/api/v4/user", aliceSecret, ""); code != 200 {
					t.Fatalf("after clear: %d", code)
				}
			}},
		{"latency", func(f *Faults) { f.SetLatency(30 * time.Millisecond) },
			func(t *testing.T, s *Server, base string) {
				start := time.Now()
				rawDo(t, "GET", base+"/api/v4/user", aliceSecret, "")
				if d := time.Since(start); d < 30*time.Millisecond {
					t.Fatalf("took %v", d)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, base, _ := newConformance(t, Options{})
			tc.setup(s.Faults())
			tc.check(t, s, base)
		})
	}
}
