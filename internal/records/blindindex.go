package records

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"strconv"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// indexKeyAD binds the wrapped index key to its purpose (the manager binds
// the organization).
var indexKeyAD = []byte("records:index_key")

// indexKey returns the organization's blind-index key. With create, a
// missing key is generated and stored in tx (the caller's write
// transaction); without, a missing key returns nil: nothing is indexed yet.
func (s *Service) indexKey(ctx context.Context, tx *store.Tx, org string, create bool) ([]byte, error) {
	const op = "records.indexKey"
	if v, ok := s.indexKeys.Load(org); ok {
		return v.([]byte), nil
	}
	var wrapped []byte
	err := tx.QueryRow(ctx, "SELECT wrapped FROM record_index_keys WHERE org_id = ?", org).Scan(&wrapped)
	switch {
	case store.IsNoRows(err) && !create:
		return nil, nil
	case store.IsNoRows(err):
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, errs.E(errs.Other, op, err)
		}
		w, err := s.keys.Encrypt(ctx, org, key, indexKeyAD)
		if err != nil {
			return nil, err
		}
		// Two first writers of an organization (PostgreSQL runs write
		// transactions concurrently) may both get here: the second one's
		// insert waits for the first to commit, does nothing, and that
		// writer then uses the committed key.
		res, err := tx.Exec(ctx, "INSERT INTO record_index_keys (org_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT (org_id) DO NOTHING",
			org, w, micros(s.now()))
		if err != nil {
			return nil, dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return s.indexKey(ctx, tx, org, false)
		}
		// Cache only once the key is durable: a rolled-back transaction
		// must not leave a key in memory that no row matches.
		tx.AfterCommit(func() { s.indexKeys.Store(org, key) })
		return key, nil
	case err != nil:
		return nil, dbErr(op, err)
	}
	key, err := s.keys.Decrypt(ctx, org, wrapped, indexKeyAD)
	if err != nil {
		return nil, err
	}
	s.indexKeys.Store(org, key)
	return key, nil
}

// token is the blind index of one value of one field: HMAC-SHA-256 keyed by
// the org's index key over the collection, field and normalized value, each
// length-prefixed so that no two inputs encode alike. Equal values in
// different fields or collections get unrelated tokens.
func token(key []byte, collection, field, value string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rampart:v1:records:index\x00"))
	m.Write([]byte(keys.AssociatedData(collection, field, value)))
	return m.Sum(nil)
}

// normalize returns the indexed text of a top-level value: strings as they
// are, numbers in their shortest canonical form (so 5, 5.0 and 5e0 agree).
// Other kinds are not indexed.
func normalize(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return "s:" + x, true
	case json.Number:
		return canonicalNumber(string(x))
	}
	return "", false
}

func canonicalNumber(s string) (string, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", false
	}
	return "n:" + strconv.FormatFloat(f, 'g', -1, 64), true
}

// queryTokens returns the tokens that a where-value matches: the string
// itself, and the number it spells if it is one.
func queryTokens(key []byte, collection, field, value string) [][]byte {
	out := [][]byte{token(key, collection, field, "s:"+value)}
	if n, ok := canonicalNumber(value); ok {
		out = append(out, token(key, collection, field, n))
	}
	return out
}

// writeIndex replaces the blind-index rows of one record.
func (s *Service) writeIndex(ctx context.Context, tx *store.Tx, org string, c collectionRow, id string, obj map[string]any) error {
	const op = "records.writeIndex"
	if _, err := tx.Exec(ctx, "DELETE FROM record_index WHERE org_id = ? AND collection = ? AND record_id = ?", org, c.name, id); err != nil {
		return dbErr(op, err)
	}
	if len(c.indexed) == 0 || obj == nil {
		return nil
	}
	key, err := s.indexKey(ctx, tx, org, true)
	if err != nil {
		return err
	}
	for _, f := range c.indexed {
		v, ok := normalize(obj[f])
		if !ok {
			continue
		}
		if _, err := tx.Exec(ctx, "INSERT INTO record_index (org_id, collection, field, token, record_id) VALUES (?, ?, ?, ?, ?)",
			org, c.name, f, token(key, c.name, f, v), id); err != nil {
			return dbErr(op, err)
		}
	}
	return nil
}
