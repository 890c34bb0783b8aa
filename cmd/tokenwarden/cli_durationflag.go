package main

import (
	"fmt"
	"time"

	"gitlab.com/tokenwarden/tokenwarden/internal/duration"
)

// durationFlag is a pflag.Value that reads tokenwarden durations (30d, 2w, 36h).
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return duration.Format(*f.d)
}

func (f durationFlag) Set(s string) error {
	d, err := duration.Parse(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("duration %q must not be negative", s)
	}
	*f.d = d
	return nil
}

func (durationFlag) Type() string { return "duration" }
