package backup

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Schedule is when the server takes backups by itself: "off", "hourly"
// (on the hour) or "daily@HH:MM" (local time of the server).
type Schedule struct {
	kind         string // "off", "hourly", "daily"
	hour, minute int
}

// ParseSchedule parses the backup.schedule setting.
func ParseSchedule(s string) (Schedule, error) {
	switch {
	case s == "off":
		return Schedule{kind: "off"}, nil
	case s == "hourly":
		return Schedule{kind: "hourly"}, nil
	case strings.HasPrefix(s, "daily@"):
		hh, mm, ok := strings.Cut(strings.TrimPrefix(s, "daily@"), ":")
		h, err1 := strconv.Atoi(hh)
		m, err2 := strconv.Atoi(mm)
		if ok && err1 == nil && err2 == nil && len(hh) == 2 && len(mm) == 2 && h >= 0 && h < 24 && m >= 0 && m < 60 {
			return Schedule{kind: "daily", hour: h, minute: m}, nil
		}
	}
	return Schedule{}, errs.E(errs.Invalid, "backup.ParseSchedule", fmt.Sprintf("backup.schedule: %q is not off, hourly or daily@HH:MM", s))
}

// Off reports whether scheduled backups are disabled.
func (s Schedule) Off() bool { return s.kind == "off" || s.kind == "" }

// String formats s as it is configured.
func (s Schedule) String() string {
	if s.kind == "daily" {
		return fmt.Sprintf("daily@%02d:%02d", s.hour, s.minute)
	}
	if s.kind == "" {
		return "off"
	}
	return s.kind
}

// Next returns the first scheduled moment strictly after t, in t's location.
func (s Schedule) Next(t time.Time) time.Time {
	switch s.kind {
	case "hourly":
		return t.Truncate(time.Hour).Add(time.Hour)
	case "daily":
		n := time.Date(t.Year(), t.Month(), t.Day(), s.hour, s.minute, 0, 0, t.Location())
		if !n.After(t) {
			n = time.Date(t.Year(), t.Month(), t.Day()+1, s.hour, s.minute, 0, 0, t.Location())
		}
		return n
	}
	return time.Time{}
}

// RunSchedule calls job at every moment of s, passing that moment, until
// ctx ends. Runs never overlap: a run that outlasts the next moment skips it.
func RunSchedule(ctx context.Context, s Schedule, now func() time.Time, job func(ctx context.Context, due time.Time)) {
	if s.Off() {
		return
	}
	for {
		next := s.Next(now())
		timer := time.NewTimer(next.Sub(now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		job(ctx, next)
	}
}
