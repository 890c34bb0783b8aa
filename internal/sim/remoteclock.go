package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/clock"
)

// RemoteClock follows the clock of an emulator served elsewhere (GET
// /-/sim/clock): a tokenwarden process run against `tokenwarden sim` in
// tests (TOKENWARDEN_SIM_CLOCK) sees the time the tests set with POST
// /-/sim/clock, and its timers fire when that time passes their due time.
// It asks the emulator at most every RemoteClockRefresh; between two
// answers its time flows with the wall clock. Test use only.
type RemoteClock struct {
	url string
	hc  *http.Client

	mu     sync.Mutex
	offset time.Duration // emulator time minus wall time
	asked  time.Time     // wall time of the last answer
}

// RemoteClockRefresh is how often a RemoteClock asks the emulator.
const RemoteClockRefresh = 20 * time.Millisecond

// NewRemoteClock follows the emulator at baseURL (without /-/sim/clock);
// the emulator must answer now.
func NewRemoteClock(baseURL string) (*RemoteClock, error) {
	c := &RemoteClock{url: strings.TrimRight(baseURL, "/") + "/-/sim/clock", hc: &http.Client{Timeout: 5 * time.Second}}
	off, err := c.fetch()
	if err != nil {
		return nil, err
	}
	c.offset, c.asked = off, time.Now()
	return c, nil
}

func (c *RemoteClock) fetch() (time.Duration, error) {
	resp, err := c.hc.Get(c.url)
	if err != nil {
		return 0, fmt.Errorf("emulator clock: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Now time.Time `json:"now"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("emulator clock: GET %s answered %s", c.url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("emulator clock: %w", err)
	}
	return time.Until(body.Now), nil
}

// Now is the emulator's time (asked again when the last answer is older
// than RemoteClockRefresh; on an error the last offset stays).
func (c *RemoteClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.asked) >= RemoteClockRefresh {
		if off, err := c.fetch(); err == nil {
			c.offset = off
		}
		c.asked = time.Now()
	}
	return time.Now().Add(c.offset)
}

// NewTimer fires once the emulator's time has passed d from now.
func (c *RemoteClock) NewTimer(d time.Duration) clock.Timer {
	t := &remoteTimer{c: make(chan time.Time, 1), stop: make(chan struct{})}
	due := c.Now().Add(d)
	go func() {
		tick := time.NewTicker(RemoteClockRefresh)
		defer tick.Stop()
		for {
			if now := c.Now(); !now.Before(due) {
				t.c <- now
				return
			}
			select {
			case <-tick.C:
			case <-t.stop:
				return
			}
		}
	}()
	return t
}

type remoteTimer struct {
	c    chan time.Time
	stop chan struct{}
	once sync.Once
}

func (t *remoteTimer) C() <-chan time.Time { return t.c }

func (t *remoteTimer) Stop() bool {
	stopped := false
	t.once.Do(func() { close(t.stop); stopped = true })
	return stopped
}
