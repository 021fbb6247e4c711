package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// Key purposes: one key series signs tokens, the other the gateway's
// identity assertions, so that an upstream can never accept an access
// token as an assertion or the other way round.
const (
	PurposeTokens  = "oidc"
	PurposeGateway = "gateway"
)

// signingAlg is the one algorithm used: ECDSA P-256 with SHA-256.
const signingAlg = jose.ES256

// keyCacheTTL bounds how long another node's rotation goes unnoticed.
const keyCacheTTL = 30 * time.Second

// signingKey is one key of a series, private part unwrapped in memory.
type signingKey struct {
	id          string
	priv        *ecdsa.PrivateKey
	createdAt   time.Time
	activeUntil time.Time // signs new tokens until then
	retireAt    time.Time // published until then
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return signingAlg }
func (k *signingKey) Key() any                                    { return k.priv }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is a signing key as published in a JWKS.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return signingAlg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.priv.PublicKey }

var (
	_ op.SigningKey = (*signingKey)(nil)
	_ op.Key        = publicKey{}
)

// KeyInfo describes a signing key for operators (never its private part).
type KeyInfo struct {
	ID          string    `json:"id"`
	Purpose     string    `json:"purpose"`
	Algorithm   string    `json:"algorithm"`
	CreatedAt   time.Time `json:"created_at"`
	ActiveUntil time.Time `json:"active_until"`
	RetireAt    time.Time `json:"retire_at"`
}

// keyRing holds the signing keys of every purpose, loaded from the
// database and cached briefly.
type keyRing struct {
	db       *store.DB
	root     keys.RootKey
	audit    *audit.Log
	now      func() time.Time
	rotation time.Duration // how long a key signs
	overlap  time.Duration // how long it stays published after that

	mu       sync.Mutex
	loadedAt map[string]time.Time
	series   map[string][]*signingKey // newest first
}

func newKeyRing(db *store.DB, root keys.RootKey, auditLog *audit.Log, now func() time.Time, rotation, overlap time.Duration) *keyRing {
	return &keyRing{db: db, root: root, audit: auditLog, now: now, rotation: rotation, overlap: overlap,
		loadedAt: map[string]time.Time{}, series: map[string][]*signingKey{}}
}

func privateAD(id string) []byte { return keys.AssociatedData("oauth_signing_keys", "private_key", id) }

// current returns the key that signs now for purpose, creating one when
// none is active (first start, or the schedule ran out).
func (r *keyRing) current(ctx context.Context, purpose string) (*signingKey, error) {
	ks, err := r.load(ctx, purpose, false)
	if err != nil {
		return nil, err
	}
	now := r.now()
	for _, k := range ks {
		if now.Before(k.activeUntil) {
			return k, nil
		}
	}
	if err := r.rotate(ctx, purpose, "system", false); err != nil {
		return nil, err
	}
	ks, err = r.load(ctx, purpose, true)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		if now.Before(k.activeUntil) {
			return k, nil
		}
	}
	return nil, errs.E(errs.Unavailable, "oidc.currentKey", "no signing key available")
}

// published returns the keys of purpose that verify: every key not retired.
func (r *keyRing) published(ctx context.Context, purpose string) ([]*signingKey, error) {
	ks, err := r.load(ctx, purpose, false)
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := make([]*signingKey, 0, len(ks))
	for _, k := range ks {
		if now.Before(k.retireAt) {
			out = append(out, k)
		}
	}
	return out, nil
}

func (r *keyRing) load(ctx context.Context, purpose string, force bool) ([]*signingKey, error) {
	const op = "oidc.loadKeys"
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.loadedAt[purpose]; ok && !force && r.now().Sub(at) < keyCacheTTL && r.now().After(at) {
		return r.series[purpose], nil
	}
	type row struct {
		id                       string
		priv                     []byte
		created, active, retired int64
	}
	var rows []row
	err := r.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, `SELECT id, private_key, created_at, active_until, retire_at FROM oauth_signing_keys
			WHERE purpose = ? AND retire_at > ? ORDER BY created_at DESC`, purpose, r.now().UnixMicro())
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		defer rs.Close()
		for rs.Next() {
			var x row
			if err := rs.Scan(&x.id, &x.priv, &x.created, &x.active, &x.retired); err != nil {
				return errs.E(op, err)
			}
			rows = append(rows, x)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	var out []*signingKey
	for _, x := range rows {
		der, err := r.root.DecryptWithContext(ctx, x.priv, privateAD(x.id))
		if err != nil {
			return nil, errs.E(errs.Integrity, op, "a signing key cannot be unwrapped with the root key", err)
		}
		pk, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, errs.E(errs.Integrity, op, "a signing key is malformed", err)
		}
		ec, ok := pk.(*ecdsa.PrivateKey)
		if !ok {
			return nil, errs.E(errs.Integrity, op, "a signing key is not an ECDSA key")
		}
		out = append(out, &signingKey{id: x.id, priv: ec, createdAt: time.UnixMicro(x.created).UTC(),
			activeUntil: time.UnixMicro(x.active).UTC(), retireAt: time.UnixMicro(x.retired).UTC()})
	}
	r.series[purpose] = out
	r.loadedAt[purpose] = r.now()
	return out, nil
}

// rotate makes a new key the signing key of purpose. With force the
// current key stops signing now (it stays published for the overlap);
// without it, a new key is only made when no key is active, so two nodes
// starting together do not both rotate.
func (r *keyRing) rotate(ctx context.Context, purpose, actor string, force bool) error {
	const op = "oidc.rotateKey"
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return errs.E(op, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return errs.E(op, err)
	}
	id := uuid.NewString()
	wrapped, err := r.root.EncryptWithContext(ctx, der, privateAD(id))
	if err != nil {
		return errs.E(errs.Unavailable, op, "the root key is unavailable", err)
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: id, Algorithm: string(signingAlg), Use: "sig"})
	if err != nil {
		return errs.E(op, err)
	}
	err = r.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := r.now().UnixMicro()
		var active int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM oauth_signing_keys WHERE purpose = ? AND active_until > ?", purpose, now).Scan(&active); err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		if active > 0 && !force {
			return nil
		}
		retire := r.now().Add(r.overlap).UnixMicro()
		if _, err := tx.Exec(ctx, `UPDATE oauth_signing_keys SET active_until = ?, retire_at = CASE WHEN retire_at > ? THEN ? ELSE retire_at END
			WHERE purpose = ? AND active_until > ?`, now, retire, retire, purpose, now); err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		activeUntil := r.now().Add(r.rotation)
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_signing_keys (id, purpose, algorithm, public_jwk, private_key, root_key_id, created_at, active_until, retire_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, purpose, string(signingAlg), string(pub), wrapped, r.root.ID(), now,
			activeUntil.UnixMicro(), activeUntil.Add(r.overlap).UnixMicro()); err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		_, err := r.audit.Append(ctx, tx, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "oauth.signing_key.rotate",
			Target: "signing_key:" + id, Outcome: audit.Success, Details: map[string]any{"purpose": purpose, "algorithm": string(signingAlg), "forced": force}})
		return err
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.loadedAt, purpose)
	r.mu.Unlock()
	return nil
}

// list describes the published keys of every purpose.
func (r *keyRing) list(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	for _, p := range []string{PurposeTokens, PurposeGateway} {
		ks, err := r.load(ctx, p, true)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			out = append(out, KeyInfo{ID: k.id, Purpose: p, Algorithm: string(signingAlg), CreatedAt: k.createdAt, ActiveUntil: k.activeUntil, RetireAt: k.retireAt})
		}
	}
	return out, nil
}

// jwks is the public key set of purpose.
func (r *keyRing) jwks(ctx context.Context, purpose string) (jose.JSONWebKeySet, error) {
	ks, err := r.published(ctx, purpose)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(ks))}
	for _, k := range ks {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.id, Algorithm: string(signingAlg), Use: "sig"})
	}
	return set, nil
}
