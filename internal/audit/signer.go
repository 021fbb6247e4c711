package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// signingPurpose marks the checkpoint key in the signing_keys table.
const signingPurpose = "audit-checkpoint"

// Signer signs checkpoints and checks them. Its private key is kept in the
// database wrapped by the root key; the public keys it trusts are derived
// from those private keys, so a key planted in the database by someone
// without the root key is never trusted.
type Signer struct {
	id      string
	private ed25519.PrivateKey
	trusted map[string]ed25519.PublicKey
	chain   []byte // HMAC key of the entry hashes
}

// newHasher returns a chain hasher under the chain key.
func (s *Signer) newHasher() *chainHasher {
	return &chainHasher{mac: hmac.New(sha256.New, s.chain), buf: make([]byte, 0, 512), sum: make([]byte, 0, sha256.Size)}
}

func wrapAD(id string) []byte { return []byte("rampart:v1:signing_keys:wrapped_private:" + id) }

// LoadSigner loads the audit checkpoint keys, creating the first one if there
// is none. root wraps and unwraps the private keys.
func LoadSigner(ctx context.Context, db *store.DB, root tink.AEADWithContext, now func() time.Time) (*Signer, error) {
	const op = "audit.LoadSigner"
	s := &Signer{trusted: map[string]ed25519.PublicKey{}}
	err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id, public_key, wrapped_private FROM signing_keys WHERE purpose = ? ORDER BY created_at, id", signingPurpose)
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		type stored struct {
			id           string
			pub, wrapped []byte
		}
		var keys []stored
		for rows.Next() {
			var k stored
			if err := rows.Scan(&k.id, &k.pub, &k.wrapped); err != nil {
				rows.Close()
				return errs.E(errs.Unavailable, op, "database unavailable", err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		for _, k := range keys {
			seed, err := root.DecryptWithContext(ctx, k.wrapped, wrapAD(k.id))
			if err != nil || len(seed) != ed25519.SeedSize {
				return errs.E(errs.Integrity, op, "audit signing key "+k.id+" cannot be unwrapped with the root key (wrong root key or tampered key)", err)
			}
			priv := ed25519.NewKeyFromSeed(seed)
			pub := priv.Public().(ed25519.PublicKey)
			if !pub.Equal(ed25519.PublicKey(k.pub)) {
				return errs.E(errs.Integrity, op, "audit signing key "+k.id+": stored public key does not match its private key")
			}
			s.trusted[k.id] = pub
			s.id, s.private = k.id, priv
		}
		if err := s.loadChainKey(ctx, tx, root, now); err != nil {
			return err
		}
		if s.private != nil {
			return nil
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return errs.E(op, err)
		}
		sum := sha256.Sum256(pub)
		id := "ed25519:" + hex.EncodeToString(sum[:8])
		wrapped, err := root.EncryptWithContext(ctx, priv.Seed(), wrapAD(id))
		if err != nil {
			return errs.E(errs.Unavailable, op, "root key cannot wrap the signing key", err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO signing_keys (id, purpose, public_key, wrapped_private, created_at) VALUES (?, ?, ?, ?, ?)",
			id, signingPurpose, []byte(pub), wrapped, now().UnixMicro()); err != nil {
			return errs.E(errs.Unavailable, op, "cannot store signing key", err)
		}
		s.trusted[id] = pub
		s.id, s.private = id, priv
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// chainPurpose marks the chain's HMAC key in the signing_keys table; its
// public_key column holds a check value (HMAC of a fixed label), never the key.
const chainPurpose = "audit-chain-mac"

// loadChainKey unwraps the chain HMAC key, creating it on first use.
func (s *Signer) loadChainKey(ctx context.Context, tx *store.Tx, root tink.AEADWithContext, now func() time.Time) error {
	const op = "audit.loadChainKey"
	var id string
	var check, wrapped []byte
	err := tx.QueryRow(ctx, "SELECT id, public_key, wrapped_private FROM signing_keys WHERE purpose = ? ORDER BY created_at, id LIMIT 1", chainPurpose).
		Scan(&id, &check, &wrapped)
	switch {
	case store.IsNoRows(err):
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return errs.E(op, err)
		}
		id = "hmac:" + hex.EncodeToString(keyCheck(key)[:8])
		w, err := root.EncryptWithContext(ctx, key, wrapAD(id))
		if err != nil {
			return errs.E(errs.Unavailable, op, "root key cannot wrap the audit chain key", err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO signing_keys (id, purpose, public_key, wrapped_private, created_at) VALUES (?, ?, ?, ?, ?)",
			id, chainPurpose, keyCheck(key), w, now().UnixMicro()); err != nil {
			return errs.E(errs.Unavailable, op, "cannot store the audit chain key", err)
		}
		s.chain = key
		return nil
	case err != nil:
		return errs.E(errs.Unavailable, op, "database unavailable", err)
	}
	key, err := root.DecryptWithContext(ctx, wrapped, wrapAD(id))
	if err != nil || !hmac.Equal(keyCheck(key), check) {
		return errs.E(errs.Integrity, op, "audit chain key cannot be unwrapped with the root key (wrong root key or tampered key)", err)
	}
	s.chain = key
	return nil
}

func keyCheck(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rampart audit chain key check"))
	return m.Sum(nil)
}

// KeyID names the current signing key.
func (s *Signer) KeyID() string { return s.id }

// checkpointMessage is what a checkpoint signature covers: the chain head
// and the sequence number of the checkpoint before it (0 for the first).
func checkpointMessage(org string, seq int64, hash []byte, atMicro, prevCheckpoint int64) []byte {
	b := make([]byte, 0, 64+len(org))
	b = append(b, "rampart-audit-checkpoint-v1\x00"...)
	b = binary.AppendVarint(b, int64(len(org)))
	b = append(b, org...)
	b = binary.AppendVarint(b, seq)
	b = binary.AppendVarint(b, atMicro)
	b = binary.AppendVarint(b, prevCheckpoint)
	return append(b, hash...)
}

func (s *Signer) sign(msg []byte) []byte { return ed25519.Sign(s.private, msg) }

func (s *Signer) verify(keyID string, msg, sig []byte) bool {
	pub, ok := s.trusted[keyID]
	return ok && ed25519.Verify(pub, msg, sig)
}
