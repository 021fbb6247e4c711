package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/rampart-platform/rampart/internal/errs"
)

// RootKey is the key-encryption key held outside the database. It only ever
// wraps and unwraps keys (organization keysets, signing keys); the context
// lets a remote KMS honour deadlines.
type RootKey interface {
	tink.AEADWithContext
	// ID names the key without revealing it, e.g. "local:3f9a1c0b".
	ID() string
}

// rootKeyHeader starts a local root key file, so a wrong file is recognised.
const rootKeyHeader = "RAMPART-ROOT-KEY-V1\n"

// LocalRootKey is the default RootKey: 256 random bits in a file that only
// its owner may read.
type LocalRootKey struct {
	id   string
	aead *subtle.AESGCM
}

var _ RootKey = (*LocalRootKey)(nil)

// OpenLocalRootKey reads the root key at path. If the file does not exist and
// create is true, a new random key is written there with mode 0600. A file
// readable or writable by group or others is refused: whoever reads it can
// decrypt every tenant's data.
func OpenLocalRootKey(path string, create bool) (*LocalRootKey, error) {
	const op = "keys.OpenLocalRootKey"
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		if err := writeNewRootKey(path); err != nil {
			return nil, errs.E(op, "cannot create root key file "+path, err)
		}
		fi, err = os.Stat(path)
		if err != nil {
			return nil, errs.E(op, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, errs.E(errs.NotFound, op, "root key file "+path+" does not exist")
	case err != nil:
		return nil, errs.E(errs.Unavailable, op, "cannot read root key file "+path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, errs.E(errs.Invalid, op, fmt.Sprintf("root key file %s has permissions %04o; it must be readable by its owner only (chmod 600 %s)", path, fi.Mode().Perm(), path))
	}
	raw, err := os.ReadFile(path) // #nosec G304 -- the operator configures this path.
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot read root key file "+path, err)
	}
	key, err := parseRootKey(raw)
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "root key file "+path+" is not a Rampart root key", err)
	}
	return newLocalRootKey(key)
}

func newLocalRootKey(key []byte) (*LocalRootKey, error) {
	a, err := subtle.NewAESGCM(key)
	if err != nil {
		return nil, errs.E("keys.newLocalRootKey", err)
	}
	sum := sha256.Sum256(append([]byte("rampart root key id\x00"), key...))
	return &LocalRootKey{id: "local:" + hex.EncodeToString(sum[:4]), aead: a}, nil
}

func parseRootKey(raw []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(raw, []byte(rootKeyHeader))
	if !ok {
		return nil, errors.New("missing header")
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(rest)))
	if err != nil {
		return nil, errors.New("key is not base64")
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 32", len(key))
	}
	return key, nil
}

func writeNewRootKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	// O_EXCL: two processes starting at once must not both write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- operator-configured path.
	if err != nil {
		return err
	}
	_, err = f.WriteString(rootKeyHeader + base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- directory of the operator-configured key path.
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ID names the key by a fingerprint that reveals nothing about it.
func (k *LocalRootKey) ID() string { return k.id }

// EncryptWithContext wraps plaintext (a key) under the root key.
func (k *LocalRootKey) EncryptWithContext(_ context.Context, plaintext, associatedData []byte) ([]byte, error) {
	return k.aead.Encrypt(plaintext, associatedData)
}

// DecryptWithContext unwraps a key wrapped by EncryptWithContext.
func (k *LocalRootKey) DecryptWithContext(_ context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	return k.aead.Decrypt(ciphertext, associatedData)
}
