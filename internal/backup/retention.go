package backup

import (
	"context"
	"fmt"
	"time"
)

// Policy says which backups pruning keeps: every backup younger than MinAge,
// and in addition the newest backup of each of the last Daily days, Weekly
// ISO weeks and Monthly months that have backups (grandfather-father-son).
// The newest verified backup and the newest backup are always kept.
type Policy struct {
	MinAge  time.Duration
	Daily   int
	Weekly  int
	Monthly int
}

// DefaultPolicy is RS2: 35 days, and three generations of each kind.
var DefaultPolicy = Policy{MinAge: 35 * 24 * time.Hour, Daily: 3, Weekly: 3, Monthly: 3}

// Plan splits backups into those to keep and those to delete at now.
// Calendar periods are taken in loc (nil: UTC).
func Plan(backups []Info, now time.Time, p Policy, loc *time.Location) (keep, drop []Info) {
	if loc == nil {
		loc = time.UTC
	}
	// Newest first, so the first backup seen in a period is its newest.
	order := make([]Info, len(backups))
	copy(order, backups)
	for i := 0; i < len(order); i++ {
		for j := i + 1; j < len(order); j++ {
			if order[j].CreatedAt.After(order[i].CreatedAt) {
				order[i], order[j] = order[j], order[i]
			}
		}
	}
	kept := map[string]bool{}
	for _, b := range order {
		if now.Sub(b.CreatedAt) < p.MinAge {
			kept[b.ID] = true
		}
	}
	generation := func(n int, period func(time.Time) string) {
		seen := map[string]bool{}
		for _, b := range order {
			if len(seen) >= n {
				return
			}
			k := period(b.CreatedAt.In(loc))
			if !seen[k] {
				seen[k] = true
				kept[b.ID] = true
			}
		}
	}
	generation(p.Daily, func(t time.Time) string { return t.Format("2006-01-02") })
	generation(p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) })
	generation(p.Monthly, func(t time.Time) string { return t.Format("2006-01") })
	if len(order) > 0 {
		kept[order[0].ID] = true
	}
	for _, b := range order {
		if b.Verified != nil && b.Verified.OK {
			kept[b.ID] = true // pruning never deletes the newest verified backup
			break
		}
	}
	for _, b := range backups {
		if kept[b.ID] {
			keep = append(keep, b)
		} else {
			drop = append(drop, b)
		}
	}
	return keep, drop
}

// Prune deletes the backups the policy does not keep and returns them. The
// listing goes first, so a backup disappears from List before its archive
// does and a crash mid-way never lists a half-deleted backup.
func Prune(ctx context.Context, t Target, p Policy, now time.Time, loc *time.Location) ([]Info, error) {
	all, err := List(ctx, t)
	if err != nil {
		return nil, err
	}
	_, drop := Plan(all, now, p, loc)
	var done []Info
	for _, b := range drop {
		for _, name := range []string{listingName(b.ID), archiveName(b.ID), verificationName(b.ID)} {
			if err := t.Delete(ctx, name); err != nil {
				return done, err
			}
		}
		done = append(done, b)
	}
	return done, nil
}
