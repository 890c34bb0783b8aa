package web

import (
	"fmt"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/daemon"
	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
	"gitlab.com/tokenwarden/tokenwarden/internal/gitlab"
)

// timelineDays is how far ahead the expiry timeline looks.
const timelineDays = 90

// Timeline geometry, in SVG user units (the SVG scales to the page width).
const (
	tlWidth  = 720.0
	tlHeight = 224.0
	tlLeft   = 36.0
	tlRight  = 692.0
	tlLane   = 22.0  // rotation markers' baseline
	tlTop    = 44.0  // top of the tallest bar
	tlBase   = 186.0 // bars stand on this line
)

// timeline is the expiry chart: one bar per day with the number of active
// tokens that expire that day, a marker for each scheduled rotation, and a
// line for today. Days is the same data as a table, for screen readers and
// for anyone who prefers numbers.
type timeline struct {
	Width, Height, Left, Right, Base, Lane float64
	TodayX                                 float64
	Bars                                   []tlBar
	Rotations                              []tlMark
	Ticks                                  []tlTick
	Max                                    int
	Expiring, Rotating                     int
	Summary                                string
	Days                                   []tlDay
}

type tlBar struct {
	X, Y, W, H float64
	Class      string // sev-critical | sev-warning | sev-ok
	Title      string
}

type tlMark struct {
	X      float64
	Points string // a small downward triangle
	Title  string
}

type tlTick struct {
	X     float64
	Label string
}

type tlDay struct {
	Date      string
	Expiring  int
	Rotations []string
	Tokens    []string
}

// namesPerDay bounds the names the timeline's table lists for one day: on a
// large instance hundreds of tokens expire on the same day.
const namesPerDay = 10

// firstNames is names, or its first namesPerDay and how many more there are.
func firstNames(names []string) []string {
	if len(names) <= namesPerDay {
		return names
	}
	return append(names[:namesPerDay:namesPerDay], fmt.Sprintf("and %d more", len(names)-namesPerDay))
}

func dayX(d float64) float64 { return tlLeft + d*(tlRight-tlLeft)/timelineDays }

func buildTimeline(st daemon.State, now time.Time) timeline {
	today := now.UTC().Truncate(duration.Day)
	tl := timeline{Width: tlWidth, Height: tlHeight, Left: tlLeft, Right: tlRight, Base: tlBase, Lane: tlLane, TodayX: dayX(0)}
	counts := make([]int, timelineDays)
	names := make([][]string, timelineDays)
	for _, t := range st.Tokens {
		if t.State != gitlab.StateActive || t.ExpiresAt == nil {
			continue
		}
		d := int(t.ExpiresAt.UTC().Truncate(duration.Day).Sub(today) / duration.Day)
		if d < 0 || d >= timelineDays {
			continue
		}
		counts[d]++
		names[d] = append(names[d], t.Resource.Path+":"+t.Name)
		tl.Expiring++
	}
	rot := make([][]string, timelineDays)
	for _, m := range st.Managed {
		if m.RenewAt == nil || m.RenewAt.Before(today) {
			continue
		}
		d := m.RenewAt.Sub(today).Hours() / 24
		if d >= timelineDays {
			continue
		}
		x := dayX(d)
		tl.Rotations = append(tl.Rotations, tlMark{
			X: x, Points: fmt.Sprintf("%.1f,%.1f %.1f,%.1f %.1f,%.1f", x-5, tlLane-9, x+5, tlLane-9, x, tlLane),
			Title: fmt.Sprintf("%s rotates %s", m.Ref, m.RenewAt.UTC().Format("2006-01-02 15:04 MST")),
		})
		rot[int(d)] = append(rot[int(d)], m.Ref)
		tl.Rotating++
	}
	for _, c := range counts {
		tl.Max = max(tl.Max, c)
	}
	w := (tlRight - tlLeft) / timelineDays
	for d, c := range counts {
		date := today.AddDate(0, 0, d)
		if c > 0 {
			h := float64(c) / float64(tl.Max) * (tlBase - tlTop)
			class := "sev-ok"
			switch {
			case d <= 7:
				class = "sev-critical"
			case d <= 30:
				class = "sev-warning"
			}
			tl.Bars = append(tl.Bars, tlBar{X: dayX(float64(d)) + 0.5, Y: tlBase - h, W: w - 1, H: h, Class: class,
				Title: fmt.Sprintf("%s: %d token(s) expire", date.Format("2006-01-02"), c)})
		}
		if c > 0 || len(rot[d]) > 0 {
			tl.Days = append(tl.Days, tlDay{Date: date.Format("2006-01-02"), Expiring: c, Tokens: firstNames(names[d]), Rotations: firstNames(rot[d])})
		}
	}
	for d := 0; d <= timelineDays; d += 15 {
		tl.Ticks = append(tl.Ticks, tlTick{X: dayX(float64(d)), Label: today.AddDate(0, 0, d).Format("Jan 2")})
	}
	tl.Summary = fmt.Sprintf("%d active token(s) expire in the next %d days; %d rotation(s) are scheduled in that time.", tl.Expiring, timelineDays, tl.Rotating)
	return tl
}
