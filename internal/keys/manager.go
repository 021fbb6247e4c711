package keys

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// cacheTTL bounds how long a node trusts its cached keyset before looking at
// the database again, so a rotation or shred done by another node reaches
// this one within that time.
const cacheTTL = time.Minute

// Manager encrypts and decrypts tenant data with per-organization keysets.
type Manager struct {
	db   *store.DB
	root RootKey
	now  func() time.Time

	mu       sync.RWMutex
	cache    map[string]*orgKeys
	gen      map[string]uint64 // bumped whenever an org's keys change
	shredded map[string]bool
}

type orgKeys struct {
	aead     tink.AEAD
	stream   tink.StreamingAEAD
	keyIDs   map[uint32]bool
	version  int64
	loadedAt time.Time
}

// New returns a Manager over db whose keysets are wrapped by root.
func New(db *store.DB, root RootKey, now func() time.Time) *Manager {
	return &Manager{
		db: db, root: root, now: now,
		cache:    map[string]*orgKeys{},
		gen:      map[string]uint64{},
		shredded: map[string]bool{},
	}
}

// RootKeyID names the root key in use.
func (m *Manager) RootKeyID() string { return m.root.ID() }

// AssociatedData builds unambiguous associated data from parts, e.g.
// AssociatedData("records", "body", recordID, "3"). Each part is
// length-prefixed so no two part lists encode alike.
func AssociatedData(parts ...string) []byte {
	b := make([]byte, 0, 64)
	b = append(b, "rampart:v1"...)
	for _, p := range parts {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
	}
	return b
}

// bind prefixes the caller's associated data with the organization, so a
// ciphertext is tied to its tenant even if a keyset were ever shared.
func bind(org string, ad []byte) []byte {
	b := make([]byte, 0, len(org)+len(ad)+24)
	b = append(b, "rampart:org:"...)
	b = strconv.AppendInt(b, int64(len(org)), 10)
	b = append(b, ':')
	b = append(b, org...)
	b = append(b, ':')
	return append(b, ad...)
}

func wrapAD(org, column string) []byte { return AssociatedData(org, "org_keysets", column) }

// Create generates the keysets of a new organization inside tx. It fails with
// errs.Exists if the organization already has keys and errs.Shredded if its
// keys were destroyed.
func (m *Manager) Create(ctx context.Context, tx *store.Tx, org string) error {
	const op = "keys.Create"
	if err := m.checkTombstone(ctx, tx, org); err != nil {
		return err
	}
	ah, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return errs.E(op, err)
	}
	sh, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return errs.E(op, err)
	}
	aw, err := m.wrap(ctx, ah, wrapAD(org, "aead_keyset"))
	if err != nil {
		return err
	}
	sw, err := m.wrap(ctx, sh, wrapAD(org, "stream_keyset"))
	if err != nil {
		return err
	}
	now := m.now().UnixMicro()
	res, err := tx.Exec(ctx, `INSERT INTO org_keysets (org_id, aead_keyset, stream_keyset, version, created_at, rotated_at)
		VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (org_id) DO NOTHING`, org, aw, sw, now, now)
	if err != nil {
		return errs.E(errs.Unavailable, op, "cannot store keyset", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Exists, op, "organization already has keys")
	}
	return nil
}

func (m *Manager) wrap(ctx context.Context, h *keyset.Handle, ad []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), m.root, ad); err != nil {
		return nil, errs.E(errs.Unavailable, "keys.wrap", "root key cannot wrap keyset", err)
	}
	return buf.Bytes(), nil
}

func (m *Manager) unwrap(ctx context.Context, b, ad []byte) (*keyset.Handle, error) {
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(b)), m.root, ad)
	if err != nil {
		return nil, errs.E(errs.Integrity, "keys.unwrap", "keyset cannot be unwrapped with the configured root key (wrong root key or tampered keyset)", err)
	}
	return h, nil
}

func (m *Manager) checkTombstone(ctx context.Context, tx *store.Tx, org string) error {
	var at int64
	err := tx.QueryRow(ctx, "SELECT shredded_at FROM org_tombstones WHERE org_id = ?", org).Scan(&at)
	switch {
	case store.IsNoRows(err):
		return nil
	case err != nil:
		return errs.E(errs.Unavailable, "keys.checkTombstone", "database unavailable", err)
	}
	return errShredded(org, time.UnixMicro(at))
}

func errShredded(org string, at time.Time) error {
	msg := "the keys of organization " + org + " were destroyed"
	if !at.IsZero() {
		msg += " at " + at.UTC().Format(time.RFC3339)
	}
	return errs.E(errs.Shredded, "keys", msg+"; its data can never be decrypted again")
}

// keys returns the organization's primitives, from cache when fresh.
func (m *Manager) keys(ctx context.Context, org string) (*orgKeys, error) {
	m.mu.RLock()
	k := m.cache[org]
	shredded := m.shredded[org]
	gen := m.gen[org]
	m.mu.RUnlock()
	if shredded {
		return nil, errShredded(org, time.Time{})
	}
	if k != nil && m.now().Sub(k.loadedAt) < cacheTTL {
		return k, nil
	}
	return m.load(ctx, org, gen)
}

func (m *Manager) load(ctx context.Context, org string, gen uint64) (*orgKeys, error) {
	const op = "keys.load"
	var aw, sw []byte
	var version int64
	err := m.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.QueryRow(ctx, "SELECT aead_keyset, stream_keyset, version FROM org_keysets WHERE org_id = ?", org).Scan(&aw, &sw, &version)
		if store.IsNoRows(err) {
			if terr := m.checkTombstone(ctx, tx, org); terr != nil {
				return terr
			}
			return errs.E(errs.NotFound, op, "organization "+org+" has no keys")
		}
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		return nil
	})
	if err != nil {
		if errs.KindOf(err) == errs.Shredded {
			m.mu.Lock()
			m.shredded[org] = true
			delete(m.cache, org)
			m.mu.Unlock()
		}
		return nil, err
	}
	ah, err := m.unwrap(ctx, aw, wrapAD(org, "aead_keyset"))
	if err != nil {
		return nil, err
	}
	sh, err := m.unwrap(ctx, sw, wrapAD(org, "stream_keyset"))
	if err != nil {
		return nil, err
	}
	a, err := aead.New(ah)
	if err != nil {
		return nil, errs.E(op, err)
	}
	s, err := streamingaead.New(sh)
	if err != nil {
		return nil, errs.E(op, err)
	}
	k := &orgKeys{aead: a, stream: s, version: version, loadedAt: m.now(), keyIDs: map[uint32]bool{}}
	for _, ki := range ah.KeysetInfo().GetKeyInfo() {
		k.keyIDs[ki.GetKeyId()] = true
	}
	m.mu.Lock()
	// Cache only if nothing changed the org's keys while we were loading.
	if m.gen[org] == gen && !m.shredded[org] {
		m.cache[org] = k
	}
	m.mu.Unlock()
	return k, nil
}

// forget drops an organization's cached keys; shred also remembers that
// they are gone.
func (m *Manager) forget(org string, shred bool) {
	m.mu.Lock()
	delete(m.cache, org)
	m.gen[org]++
	if shred {
		m.shredded[org] = true
	}
	m.mu.Unlock()
}

// Encrypt seals plaintext with the organization's primary AEAD key, bound to
// the organization and associatedData.
func (m *Manager) Encrypt(ctx context.Context, org string, plaintext, associatedData []byte) ([]byte, error) {
	k, err := m.keys(ctx, org)
	if err != nil {
		return nil, err
	}
	if EncryptionDisabled {
		return append([]byte(nil), plaintext...), nil
	}
	ct, err := k.aead.Encrypt(plaintext, bind(org, associatedData))
	if err != nil {
		return nil, errs.E("keys.Encrypt", err)
	}
	return ct, nil
}

// errTampered is returned when a ciphertext fails authentication. It says
// nothing about which check failed.
func errTampered(op string) error {
	return errs.E(errs.Integrity, op, "ciphertext failed authentication: it was altered, moved to another record or tenant, or its key is gone")
}

// Decrypt opens a ciphertext made by Encrypt with the same organization and
// associated data. It returns errs.Integrity if the ciphertext was altered or
// moved, errs.Shredded if the organization's keys were destroyed.
func (m *Manager) Decrypt(ctx context.Context, org string, ciphertext, associatedData []byte) ([]byte, error) {
	const op = "keys.Decrypt"
	k, err := m.keys(ctx, org)
	if err != nil {
		return nil, err
	}
	if EncryptionDisabled {
		return append([]byte(nil), ciphertext...), nil
	}
	ad := bind(org, associatedData)
	pt, err := k.aead.Decrypt(ciphertext, ad)
	if err == nil {
		return pt, nil
	}
	// A key this node has not seen yet (rotated elsewhere): reload once.
	// Only for an unknown key id, so forged ciphertexts cannot force a
	// database read each.
	if id, ok := tinkKeyID(ciphertext); ok && !k.keyIDs[id] {
		m.mu.RLock()
		gen := m.gen[org]
		m.mu.RUnlock()
		if k, err = m.load(ctx, org, gen); err != nil {
			return nil, err
		}
		if pt, err := k.aead.Decrypt(ciphertext, ad); err == nil {
			return pt, nil
		}
	}
	return nil, errTampered(op)
}

// tinkKeyID reads the key id from a Tink-prefixed ciphertext.
func tinkKeyID(ct []byte) (uint32, bool) {
	if len(ct) < 5 || ct[0] != 1 {
		return 0, false
	}
	return binary.BigEndian.Uint32(ct[1:5]), true
}

// EncryptingWriter returns a writer that encrypts everything written to it
// into w in authenticated segments; Close must be called to finish.
func (m *Manager) EncryptingWriter(ctx context.Context, org string, w io.Writer, associatedData []byte) (io.WriteCloser, error) {
	k, err := m.keys(ctx, org)
	if err != nil {
		return nil, err
	}
	if EncryptionDisabled {
		return nopCloser{w}, nil
	}
	ew, err := k.stream.NewEncryptingWriter(w, bind(org, associatedData))
	if err != nil {
		return nil, errs.E("keys.EncryptingWriter", err)
	}
	return ew, nil
}

// DecryptingReader returns a reader of the plaintext of a stream made by
// EncryptingWriter. A read returns an errs.Integrity error, never altered
// bytes, if a segment was changed, reordered or cut off.
func (m *Manager) DecryptingReader(ctx context.Context, org string, r io.Reader, associatedData []byte) (io.Reader, error) {
	k, err := m.keys(ctx, org)
	if err != nil {
		return nil, err
	}
	if EncryptionDisabled {
		return r, nil
	}
	src := &sourceReader{r: r}
	dr, err := k.stream.NewDecryptingReader(src, bind(org, associatedData))
	if err != nil {
		if src.err != nil {
			return nil, src.err
		}
		return nil, errTampered("keys.DecryptingReader")
	}
	return &integrityReader{r: dr, src: src}, nil
}

// nopCloser is the benchmark-only build's pass-through writer.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// sourceReader remembers the ciphertext source's own failure, so an I/O
// error is reported as such and not mistaken for tampering.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

type integrityReader struct {
	r   io.Reader
	src *sourceReader
}

func (ir *integrityReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if err != nil && err != io.EOF {
		if ir.src.err != nil {
			return n, ir.src.err
		}
		return n, errTampered("keys.DecryptingReader")
	}
	return n, err
}
