package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"fmt"
	"runtime"
	"sync"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Problem kinds found by Verify.
const (
	Altered      = "altered"       // an entry's content no longer matches its hash
	Removed      = "removed"       // an entry is missing (gap, or cut off the end)
	Reordered    = "reordered"     // an entry does not follow the one before it
	BadSignature = "bad_signature" // a checkpoint's signature or hash does not hold
)

// Problem is the first broken place in one chain.
type Problem struct {
	Org     string `json:"org"`
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Report is the outcome of Verify.
type Report struct {
	Chains      int       `json:"chains"`
	Entries     int64     `json:"entries"`
	Checkpoints int       `json:"checkpoints"`
	Problems    []Problem `json:"problems"`
}

// OK reports whether every chain verified.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// AllOrgs asks Verify for every chain.
const AllOrgs = "*"

// Verify walks the chain of org (or every chain, with AllOrgs) and its
// signed checkpoints and reports the first broken entry of each chain.
func (l *Log) Verify(ctx context.Context, db *store.DB, org string) (Report, error) {
	rep := Report{Problems: []Problem{}}
	err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		orgs, err := chainOrgs(ctx, tx, org)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			rep.Chains++
			p, n, cps, err := l.verifyChain(ctx, db, tx, o)
			if err != nil {
				return err
			}
			rep.Entries += n
			rep.Checkpoints += cps
			if p != nil {
				rep.Problems = append(rep.Problems, *p)
			}
		}
		return nil
	})
	if err != nil {
		return Report{}, errs.E("audit.Verify", err)
	}
	return rep, nil
}

// chainOrgs lists the chains to check: every organization that has a head,
// a checkpoint or an entry, so deleting a whole chain's head is noticed too.
func chainOrgs(ctx context.Context, tx *store.Tx, org string) ([]string, error) {
	if org != AllOrgs {
		return []string{org}, nil
	}
	// Organizations are included: each has a chain from its creation, so
	// a chain deleted whole is reported rather than silently absent.
	rows, err := tx.Query(ctx, `SELECT org_id FROM audit_heads UNION SELECT org_id FROM audit_checkpoints
		UNION SELECT DISTINCT org_id FROM audit_events UNION SELECT id FROM organizations ORDER BY 1`)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

type checkpointRow struct {
	seq       int64
	hash      []byte
	at        int64
	keyID     string
	signature []byte
}

func (l *Log) verifyChain(ctx context.Context, db *store.DB, tx *store.Tx, org string) (*Problem, int64, int, error) {
	fail := func(seq int64, kind, format string, args ...any) *Problem {
		return &Problem{Org: org, Seq: seq, Kind: kind, Message: fmt.Sprintf(format, args...)}
	}
	// Checkpoints first: each must carry a valid signature.
	cps, err := loadCheckpoints(ctx, tx, org)
	if err != nil {
		return nil, 0, 0, err
	}
	prevCP := int64(0)
	for _, c := range cps {
		if !l.signer.verify(c.keyID, checkpointMessage(org, c.seq, c.hash, c.at, prevCP), c.signature) {
			return fail(c.seq, BadSignature, "checkpoint at entry %d has an invalid signature, or the checkpoint before it was removed", c.seq), 0, len(cps), nil
		}
		prevCP = c.seq
	}
	var maxSeq int64
	if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE org_id = ?", org).Scan(&maxSeq); err != nil {
		return nil, 0, len(cps), errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
	}
	ranges := l.scanChain(ctx, db, tx, org, maxSeq, cps)
	var n int64
	var prev [HashSize]byte // genesis: all zero
	last := int64(0)
	matched := 0
	for _, r := range ranges {
		n += r.n
		if r.err != nil {
			return nil, n, len(cps), r.err
		}
		// The link into this range, checked before anything inside it.
		if r.n > 0 && r.firstSeq == last+1 && r.firstPrev != prev {
			return fail(r.firstSeq, Reordered, "entry %d does not follow entry %d: the chain link is broken", r.firstSeq, last), n, len(cps), nil
		}
		if r.problem != nil {
			return r.problem, n, len(cps), nil
		}
		if r.n > 0 {
			prev, last = r.lastHash, r.lastSeq
		}
		matched += r.checkpoints
	}
	if matched < len(cps) {
		return fail(last+1, Removed, "entries %d to %d were removed: a signed checkpoint covers entry %d", last+1, cps[len(cps)-1].seq, cps[len(cps)-1].seq), n, len(cps), nil
	}
	var headSeq int64
	var headHash []byte
	err = tx.QueryRow(ctx, "SELECT seq, hash FROM audit_heads WHERE org_id = ?", org).Scan(&headSeq, &headHash)
	switch {
	case store.IsNoRows(err):
		if last > 0 {
			return fail(last, Removed, "the chain head record is missing"), n, len(cps), nil
		}
		var orgs int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM organizations WHERE id = ?", org).Scan(&orgs); err != nil {
			return nil, n, len(cps), errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
		}
		if orgs > 0 {
			return fail(1, Removed, "the organization exists but its whole audit chain is missing"), n, len(cps), nil
		}
	case err != nil:
		return nil, n, len(cps), errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
	case headSeq > last:
		return fail(last+1, Removed, "entries %d to %d were removed from the end of the chain", last+1, headSeq), n, len(cps), nil
	case headSeq < last || !bytes.Equal(headHash, prev[:]):
		return fail(headSeq, Altered, "the chain head does not match entry %d", last), n, len(cps), nil
	}
	return nil, n, len(cps), nil
}

func loadCheckpoints(ctx context.Context, tx *store.Tx, org string) ([]checkpointRow, error) {
	rows, err := tx.Query(ctx, "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints WHERE org_id = ? ORDER BY seq", org)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
	}
	defer rows.Close()
	var out []checkpointRow
	for rows.Next() {
		var c checkpointRow
		if err := rows.Scan(&c.seq, &c.hash, &c.at, &c.keyID, &c.signature); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// defaultParallelMin is the chain length from which verification splits
// the chain into ranges checked on several cores; the links between ranges
// are checked afterwards, so the result is the same as one sequential walk.
const defaultParallelMin = 100_000

// chainRange is the outcome of walking entries lo..hi of one chain.
type chainRange struct {
	lo, hi            int64
	n                 int64
	firstSeq, lastSeq int64
	firstPrev         [HashSize]byte
	lastHash          [HashSize]byte
	checkpoints       int // signed checkpoints matched inside the range
	problem           *Problem
	err               error
}

// scanChain walks entries 1..maxSeq, in parallel ranges for long chains.
// Entries are append-only, so ranges read in separate snapshots still see
// the same rows 1..maxSeq.
func (l *Log) scanChain(ctx context.Context, db *store.DB, tx *store.Tx, org string, maxSeq int64, cps []checkpointRow) []chainRange {
	parts := int64(runtime.GOMAXPROCS(0))
	if maxSeq < l.parallelMin || parts < 2 {
		r := l.scanRange(ctx, tx, org, 1, maxSeq, cps)
		return []chainRange{r}
	}
	size := (maxSeq + parts - 1) / parts
	ranges := make([]chainRange, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*size+1, min((i+1)*size, maxSeq)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Read(ctx, func(ctx context.Context, rtx *store.Tx) error {
				ranges[i] = l.scanRange(ctx, rtx, org, lo, hi, cps)
				return nil
			})
			if err != nil {
				ranges[i] = chainRange{lo: lo, hi: hi, err: err}
			}
		}()
	}
	wg.Wait()
	return ranges
}

// scanRange checks entries lo..hi: sequence continuity, each entry's keyed
// hash, the links inside the range and the checkpoints that fall in it. The
// link into the range (its first prev_hash) is checked by the caller.
func (l *Log) scanRange(ctx context.Context, tx *store.Tx, org string, lo, hi int64, cps []checkpointRow) chainRange {
	r := chainRange{lo: lo, hi: hi}
	fail := func(seq int64, kind, format string, args ...any) chainRange {
		r.problem = &Problem{Org: org, Seq: seq, Kind: kind, Message: fmt.Sprintf(format, args...)}
		return r
	}
	rows, err := tx.Query(ctx, `SELECT seq, at, actor, action, target, outcome, ip, user_agent, details, prev_hash, hash
		FROM audit_events WHERE org_id = ? AND seq >= ? AND seq <= ? ORDER BY seq`, org, lo, hi)
	if err != nil {
		r.err = errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
		return r
	}
	defer rows.Close()
	h := l.signer.newHasher()
	next := 0
	for next < len(cps) && cps[next].seq < lo {
		next++
	}
	var prev [HashSize]byte
	last := lo - 1
	var seq, at int64
	// RawBytes: no copy per column; valid until the next row.
	var fields [8][]byte
	var cols [8]sql.RawBytes
	var prevHash, stored sql.RawBytes
	fields[0] = []byte(org)
	for rows.Next() {
		if err := rows.Scan(&seq, &at, &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6], &cols[7], &prevHash, &stored); err != nil {
			r.err = errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
			return r
		}
		r.n++
		if seq != last+1 {
			return fail(last+1, Removed, "entry %d is missing (the chain jumps from %d to %d)", last+1, last, seq)
		}
		for i := 1; i < 8; i++ {
			fields[i] = cols[i]
		}
		if !hmac.Equal(h.hash(prevHash, seq, at, &fields), stored) || len(stored) != HashSize || len(prevHash) != HashSize {
			return fail(seq, Altered, "entry %d was altered: its content does not match its hash", seq)
		}
		if r.n == 1 {
			r.firstSeq = seq
			copy(r.firstPrev[:], prevHash)
		} else if !bytes.Equal(prevHash, prev[:]) {
			return fail(seq, Reordered, "entry %d does not follow entry %d: the chain link is broken", seq, last)
		}
		for next < len(cps) && cps[next].seq == seq {
			if !bytes.Equal(cps[next].hash, stored) {
				return fail(seq, Altered, "entry %d differs from the signed checkpoint", seq)
			}
			next++
			r.checkpoints++
		}
		copy(prev[:], stored)
		last = seq
	}
	if err := rows.Err(); err != nil {
		r.err = errs.E(errs.Unavailable, "audit.Verify", "database unavailable", err)
		return r
	}
	r.lastSeq, r.lastHash = last, prev
	if last < hi {
		return fail(last+1, Removed, "entry %d is missing", last+1)
	}
	return r
}
