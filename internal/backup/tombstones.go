package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// Publisher writes each tombstone as a small object under tombstones/ in a
// backup target, where every later restore finds it.
type Publisher struct {
	target Target
}

var _ tombstone.Publisher = (*Publisher)(nil)

// NewTargetPublisher returns a Publisher on t.
func NewTargetPublisher(t Target) *Publisher { return &Publisher{target: t} }

// tombstoneName is derived from the tombstone's identity only (a hash, so
// no id reaches a path and republishing overwrites the same object).
func tombstoneName(t tombstone.Tombstone) string {
	h := sha256.Sum256([]byte(string(t.Kind) + "\x00" + t.Org + "\x00" + t.ID))
	return tombstonesDir + string(t.Kind) + "-" + hex.EncodeToString(h[:20]) + ".json"
}

// Publish implements tombstone.Publisher.
func (p *Publisher) Publish(ctx context.Context, t tombstone.Tombstone) error {
	if t.Kind == "" || t.Org == "" {
		return errs.E(errs.Invalid, "backup.Publish", "a tombstone needs a kind and an organization")
	}
	return putJSON(ctx, p.target, tombstoneName(t), t)
}

// TombstoneSource reads tombstones the live database holds.
type TombstoneSource func(ctx context.Context, tx *store.Tx) ([]tombstone.Tombstone, error)

// DefaultTombstoneSources are the kinds of destruction the platform
// records today: shredded organizations (org_tombstones). Revoked secrets
// are added by the caller as their service appears.
func DefaultTombstoneSources() []TombstoneSource {
	return []TombstoneSource{OrgTombstones}
}

// OrgTombstones reads every shredded organization.
func OrgTombstones(ctx context.Context, tx *store.Tx) ([]tombstone.Tombstone, error) {
	rows, err := tx.Query(ctx, "SELECT org_id, shredded_at FROM org_tombstones ORDER BY org_id")
	if err != nil {
		return nil, errs.E(errs.Unavailable, "backup.OrgTombstones", "cannot read org_tombstones", err)
	}
	defer rows.Close()
	var out []tombstone.Tombstone
	for rows.Next() {
		var org string
		var at int64
		if err := rows.Scan(&org, &at); err != nil {
			return nil, errs.E(errs.Unavailable, "backup.OrgTombstones", "cannot read org_tombstones", err)
		}
		out = append(out, tombstone.Tombstone{Kind: tombstone.Org, Org: org, At: time.UnixMicro(at).UTC()})
	}
	return out, rows.Err()
}

// RepublishTombstones writes every tombstone the sources find in db to t,
// repairing any publication that failed when it happened.
func RepublishTombstones(ctx context.Context, db *store.DB, t Target, sources []TombstoneSource) (int, error) {
	var all []tombstone.Tombstone
	err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		for _, src := range sources {
			ts, err := src(ctx, tx)
			if err != nil {
				return err
			}
			all = append(all, ts...)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	p := NewTargetPublisher(t)
	for _, ts := range all {
		if err := p.Publish(ctx, ts); err != nil {
			return 0, err
		}
	}
	return len(all), nil
}

// ReadTombstones returns every tombstone stored in t, oldest first.
func ReadTombstones(ctx context.Context, t Target) ([]tombstone.Tombstone, error) {
	names, err := t.List(ctx, tombstonesDir)
	if err != nil {
		return nil, err
	}
	var out []tombstone.Tombstone
	for _, n := range names {
		if !strings.HasSuffix(n, ".json") {
			continue
		}
		var ts tombstone.Tombstone
		if err := getJSON(ctx, t, n, &ts); err != nil {
			return nil, err
		}
		if ts.Kind == "" || ts.Org == "" {
			return nil, errs.E(errs.Integrity, "backup.ReadTombstones", "tombstone "+n+" names no kind or organization")
		}
		out = append(out, ts)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// Applier destroys again, inside tx of a restored instance, what one
// tombstone says was destroyed after the backup was taken.
type Applier func(ctx context.Context, tx *store.Tx, t tombstone.Tombstone) error

// Appliers maps each kind of tombstone to what applies it. A restore
// refuses a tombstone of a kind it has no applier for: serving data that
// should have been destroyed is worse than not serving.
type Appliers map[tombstone.Kind]Applier

// ApplyTombstones applies every tombstone in one transaction of db and
// returns how many it applied.
func ApplyTombstones(ctx context.Context, db *store.DB, ts []tombstone.Tombstone, appliers Appliers) (int, error) {
	const op = "backup.ApplyTombstones"
	for _, t := range ts {
		if appliers[t.Kind] == nil {
			return 0, errs.E(errs.Precondition, op, fmt.Sprintf("the backup target holds a %q tombstone and this Rampart cannot apply it; the restore stops so that destroyed data is not served", t.Kind))
		}
	}
	if len(ts) == 0 {
		return 0, nil
	}
	err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		for _, t := range ts {
			if err := appliers[t.Kind](ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(ts), nil
}
