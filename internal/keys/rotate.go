package keys

import (
	"context"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/streamingaead"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Status describes an organization's keys without revealing them.
type Status struct {
	Org          string    `json:"org"`
	Version      int64     `json:"version"`
	AEADKeys     int       `json:"aead_keys"`
	StreamKeys   int       `json:"stream_keys"`
	PrimaryKeyID uint32    `json:"primary_key_id"`
	CreatedAt    time.Time `json:"created_at"`
	RotatedAt    time.Time `json:"rotated_at"`
}

// Rotate adds a new primary key to both of the organization's keysets inside
// tx. New data is encrypted with it; data under older keys stays readable.
// Caches on this node drop the old keyset when tx commits.
func (m *Manager) Rotate(ctx context.Context, tx *store.Tx, org string) (Status, error) {
	const op = "keys.Rotate"
	var aw, sw []byte
	var st Status
	var created, rotated int64
	q := "SELECT aead_keyset, stream_keyset, version, created_at FROM org_keysets WHERE org_id = ?"
	if tx.Dialect() == store.Postgres {
		// Concurrent rotations must take turns, or one's new key is lost.
		q += " FOR UPDATE"
	}
	err := tx.QueryRow(ctx, q, org).Scan(&aw, &sw, &st.Version, &created)
	if store.IsNoRows(err) {
		if terr := m.checkTombstone(ctx, tx, org); terr != nil {
			return Status{}, terr
		}
		return Status{}, errs.E(errs.NotFound, op, "organization "+org+" has no keys")
	}
	if err != nil {
		return Status{}, errs.E(errs.Unavailable, op, "database unavailable", err)
	}
	ah, err := m.unwrap(ctx, aw, wrapAD(org, "aead_keyset"))
	if err != nil {
		return Status{}, err
	}
	sh, err := m.unwrap(ctx, sw, wrapAD(org, "stream_keyset"))
	if err != nil {
		return Status{}, err
	}
	if ah, err = addPrimary(ah, aead.AES256GCMKeyTemplate()); err != nil {
		return Status{}, errs.E(op, err)
	}
	if sh, err = addPrimary(sh, streamingaead.AES256GCMHKDF1MBKeyTemplate()); err != nil {
		return Status{}, errs.E(op, err)
	}
	if aw, err = m.wrap(ctx, ah, wrapAD(org, "aead_keyset")); err != nil {
		return Status{}, err
	}
	if sw, err = m.wrap(ctx, sh, wrapAD(org, "stream_keyset")); err != nil {
		return Status{}, err
	}
	rotated = m.now().UnixMicro()
	st.Version++
	if _, err := tx.Exec(ctx, "UPDATE org_keysets SET aead_keyset = ?, stream_keyset = ?, version = ?, rotated_at = ? WHERE org_id = ?",
		aw, sw, st.Version, rotated, org); err != nil {
		return Status{}, errs.E(errs.Unavailable, op, "cannot store rotated keyset", err)
	}
	tx.AfterCommit(func() { m.forget(org, false) })
	return describe(org, st.Version, created, rotated, ah, sh), nil
}

func addPrimary(h *keyset.Handle, tmpl *tinkpb.KeyTemplate) (*keyset.Handle, error) {
	mgr := keyset.NewManagerFromHandle(h)
	id, err := mgr.Add(tmpl)
	if err != nil {
		return nil, err
	}
	if err := mgr.SetPrimary(id); err != nil {
		return nil, err
	}
	return mgr.Handle()
}

func describe(org string, version, created, rotated int64, ah, sh *keyset.Handle) Status {
	st := Status{Org: org, Version: version, CreatedAt: time.UnixMicro(created).UTC(), RotatedAt: time.UnixMicro(rotated).UTC(),
		AEADKeys: ah.Len(), StreamKeys: sh.Len()}
	st.PrimaryKeyID = ah.KeysetInfo().GetPrimaryKeyId()
	return st
}

// Shred destroys the organization's keysets inside tx and records a
// tombstone, so that every ciphertext of the organization, wherever a copy
// lives, can never be decrypted again, and new keys are never created for it.
func (m *Manager) Shred(ctx context.Context, tx *store.Tx, org string) error {
	const op = "keys.Shred"
	if _, err := tx.Exec(ctx, "DELETE FROM org_keysets WHERE org_id = ?", org); err != nil {
		return errs.E(errs.Unavailable, op, "cannot delete keyset", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO org_tombstones (org_id, shredded_at) VALUES (?, ?) ON CONFLICT (org_id) DO NOTHING",
		org, m.now().UnixMicro()); err != nil {
		return errs.E(errs.Unavailable, op, "cannot write tombstone", err)
	}
	// Forget now as well as after commit: a reader must not keep using keys
	// that are being destroyed, and a failed commit only costs a reload.
	m.forget(org, false)
	tx.AfterCommit(func() { m.forget(org, true) })
	return nil
}

// Statuses lists the key status of every organization that has keys.
func (m *Manager) Statuses(ctx context.Context) ([]Status, error) {
	const op = "keys.Statuses"
	type row struct {
		org              string
		aw, sw           []byte
		version          int64
		created, rotated int64
	}
	var rows []row
	err := m.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, "SELECT org_id, aead_keyset, stream_keyset, version, created_at, rotated_at FROM org_keysets ORDER BY org_id")
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		defer rs.Close()
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.org, &r.aw, &r.sw, &r.version, &r.created, &r.rotated); err != nil {
				return errs.E(errs.Unavailable, op, "database unavailable", err)
			}
			rows = append(rows, r)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(rows))
	for _, r := range rows {
		ah, err := m.unwrap(ctx, r.aw, wrapAD(r.org, "aead_keyset"))
		if err != nil {
			return nil, err
		}
		sh, err := m.unwrap(ctx, r.sw, wrapAD(r.org, "stream_keyset"))
		if err != nil {
			return nil, err
		}
		out = append(out, describe(r.org, r.version, r.created, r.rotated, ah, sh))
	}
	return out, nil
}

// Check proves the root key works (readiness): it wraps and unwraps a probe.
func (m *Manager) Check(ctx context.Context) error {
	ad := []byte("rampart readiness probe")
	ct, err := m.root.EncryptWithContext(ctx, []byte("probe"), ad)
	if err == nil {
		_, err = m.root.DecryptWithContext(ctx, ct, ad)
	}
	if err != nil {
		return errs.E(errs.Unavailable, "keys.Check", "root key provider unusable", err)
	}
	return nil
}
