package audit

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Options tune checkpointing.
type Options struct {
	// CheckpointEvery signs a chain's head after this many new entries.
	CheckpointEvery int64
}

// Log appends to and verifies the audit chains.
type Log struct {
	signer      *Signer
	now         func() time.Time
	every       int64
	parallelMin int64
}

// New returns a Log that signs checkpoints with signer and stamps entries
// with now.
func New(signer *Signer, now func() time.Time, opts Options) *Log {
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 1000
	}
	return &Log{signer: signer, now: now, every: opts.CheckpointEvery, parallelMin: defaultParallelMin}
}

// head is the newest entry of a chain.
type head struct {
	seq           int64
	hash          []byte
	checkpointSeq int64
	exists        bool
}

// readHead loads and (on PostgreSQL) locks a chain's head row so concurrent
// appends to one organization take turns; SQLite has a single writer.
func readHead(ctx context.Context, tx *store.Tx, org string) (head, error) {
	q := "SELECT seq, hash, checkpoint_seq FROM audit_heads WHERE org_id = ?"
	if tx.Dialect() == store.Postgres {
		q += " FOR UPDATE"
	}
	var h head
	err := tx.QueryRow(ctx, q, org).Scan(&h.seq, &h.hash, &h.checkpointSeq)
	switch {
	case store.IsNoRows(err):
		return head{hash: genesis}, nil
	case err != nil:
		return head{}, err
	}
	h.exists = true
	return h, nil
}

// Append records e inside tx and returns the stored entry. Callers append in
// the same transaction as the change the event describes.
func (l *Log) Append(ctx context.Context, tx *store.Tx, e Event) (Entry, error) {
	const op = "audit.Append"
	if e.Action == "" || e.Actor == "" {
		return Entry{}, errs.E(errs.Invalid, op, "audit event needs an actor and an action")
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	details, err := canonicalDetails(e.Details)
	if err != nil {
		return Entry{}, errs.E(errs.Invalid, op, "audit details are not JSON-encodable", err)
	}
	h, err := readHead(ctx, tx, e.Org)
	if err != nil {
		return Entry{}, errs.E(errs.Unavailable, op, "database unavailable", err)
	}
	if !h.exists && tx.Dialect() == store.Postgres {
		// Create the head row first, then lock it: two first appends
		// to a new chain must not both start at seq 1.
		if _, err := tx.Exec(ctx, "INSERT INTO audit_heads (org_id, seq, hash, checkpoint_seq, checkpoint_at) VALUES (?, 0, ?, 0, 0) ON CONFLICT (org_id) DO NOTHING", e.Org, genesis); err != nil {
			return Entry{}, errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		if h, err = readHead(ctx, tx, e.Org); err != nil {
			return Entry{}, errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		if h.seq == 0 {
			h.hash = genesis
		}
	}
	ent := Entry{Event: e, Seq: h.seq + 1, Time: l.now().UTC().Truncate(time.Microsecond), Details: details, PrevHash: h.hash}
	ent.Event.Details = nil
	ent.Hash = ent.computeHash(l.signer.newHasher())
	at := ent.Time.UnixMicro()
	if _, err := tx.Exec(ctx, `INSERT INTO audit_events (org_id, seq, at, actor, action, target, outcome, ip, user_agent, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Org, ent.Seq, at, e.Actor, e.Action, e.Target, e.Outcome, e.IP, e.UserAgent, details, ent.PrevHash, ent.Hash); err != nil {
		return Entry{}, errs.E(errs.Unavailable, op, "cannot write audit entry", err)
	}
	cpSeq := h.checkpointSeq
	if h.exists || tx.Dialect() == store.Postgres {
		_, err = tx.Exec(ctx, "UPDATE audit_heads SET seq = ?, hash = ? WHERE org_id = ?", ent.Seq, ent.Hash, e.Org)
	} else {
		_, err = tx.Exec(ctx, "INSERT INTO audit_heads (org_id, seq, hash, checkpoint_seq, checkpoint_at) VALUES (?, ?, ?, 0, 0)", e.Org, ent.Seq, ent.Hash)
	}
	if err != nil {
		return Entry{}, errs.E(errs.Unavailable, op, "cannot update audit head", err)
	}
	if ent.Seq-cpSeq >= l.every {
		if err := l.checkpoint(ctx, tx, e.Org, ent.Seq, ent.Hash); err != nil {
			return Entry{}, err
		}
	}
	return ent, nil
}

// checkpoint signs the chain head (seq, hash) inside tx. The signature also
// covers the previous checkpoint's position, so checkpoints form a chain of
// their own and removing one breaks the next.
func (l *Log) checkpoint(ctx context.Context, tx *store.Tx, org string, seq int64, hash []byte) error {
	at := l.now().UnixMicro()
	var prev int64
	err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints WHERE org_id = ? AND seq < ?", org, seq).Scan(&prev)
	if err != nil {
		return errs.E(errs.Unavailable, "audit.checkpoint", "database unavailable", err)
	}
	sig := l.signer.sign(checkpointMessage(org, seq, hash, at, prev))
	if _, err := tx.Exec(ctx, "INSERT INTO audit_checkpoints (org_id, seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, seq) DO NOTHING",
		org, seq, hash, at, l.signer.KeyID(), sig); err != nil {
		return errs.E(errs.Unavailable, "audit.checkpoint", "cannot write checkpoint", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE audit_heads SET checkpoint_seq = ?, checkpoint_at = ? WHERE org_id = ?", seq, at, org); err != nil {
		return errs.E(errs.Unavailable, "audit.checkpoint", "cannot update audit head", err)
	}
	return nil
}

// Record appends e in a transaction of its own, for events that accompany
// no data change (a failed login, a verification run).
func (l *Log) Record(ctx context.Context, db *store.DB, e Event) error {
	return db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := l.Append(ctx, tx, e)
		return err
	})
}

// CheckpointAll signs the head of every chain that has entries newer than
// its last checkpoint, and returns how many it signed. The server runs it on
// a timer so that quiet chains are sealed too.
func (l *Log) CheckpointAll(ctx context.Context, db *store.DB) (int, error) {
	n := 0
	err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT org_id, seq, hash FROM audit_heads WHERE seq > checkpoint_seq")
		if err != nil {
			return errs.E(errs.Unavailable, "audit.CheckpointAll", "database unavailable", err)
		}
		type due struct {
			org  string
			seq  int64
			hash []byte
		}
		var all []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.org, &d.seq, &d.hash); err != nil {
				rows.Close()
				return errs.E(errs.Unavailable, "audit.CheckpointAll", "database unavailable", err)
			}
			all = append(all, d)
		}
		rows.Close()
		for _, d := range all {
			if err := l.checkpoint(ctx, tx, d.org, d.seq, d.hash); err != nil {
				return err
			}
		}
		n = len(all)
		return rows.Err()
	})
	return n, err
}
