package backup

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/errs"
)

const (
	manifestMember  = "manifest.json"
	maxManifestSize = 16 << 20
)

// writeArchive streams tar(manifest, members) encrypted to recipients into w.
func writeArchive(w io.Writer, recipients []age.Recipient, m Manifest, files []spooled) error {
	const op = "backup.writeArchive"
	aw, err := age.Encrypt(w, recipients...)
	if err != nil {
		return errs.E(errs.Invalid, op, "cannot encrypt to the recipients", err)
	}
	tw := tar.NewWriter(aw)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return errs.E(op, err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestMember, Mode: 0o600, Size: int64(len(mb)), ModTime: m.CreatedAt, Format: tar.FormatPAX}); err != nil {
		return errs.E(op, err)
	}
	if _, err := tw.Write(mb); err != nil {
		return errs.E(op, err)
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o600, Size: f.Size, ModTime: m.CreatedAt, Format: tar.FormatPAX}); err != nil {
			return errs.E(op, err)
		}
		in, err := os.Open(f.path) // #nosec G304 -- our spool directory
		if err != nil {
			return errs.E(op, err)
		}
		n, err := io.Copy(tw, in)
		_ = in.Close()
		if err != nil {
			return errs.E(op, err)
		}
		if n != f.Size {
			return errs.E(errs.Integrity, op, fmt.Sprintf("member %s changed while archiving", f.Name))
		}
	}
	if err := tw.Close(); err != nil {
		return errs.E(op, err)
	}
	return aw.Close()
}

// errCorrupt is how every integrity failure of an archive begins, so an
// operator reads one clear sentence whatever the detail.
func errCorrupt(op, detail string, cause error) error {
	msg := "backup archive failed verification: " + detail
	if cause == nil {
		return errs.E(errs.Integrity, op, msg)
	}
	return errs.E(errs.Integrity, op, msg, cause)
}

// readArchive decrypts r with ids, checks the manifest and every member's
// size and SHA-256, and writes the members into dir (0700, made by the
// caller) under names of its own: names inside an archive are never used as
// paths, because anyone holding the (public) recipient can make an archive.
// It returns the manifest and the extracted members.
func readArchive(r io.Reader, ids []age.Identity, dir string) (Manifest, []spooled, error) {
	const op = "backup.readArchive"
	ar, err := age.Decrypt(r, ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return Manifest{}, nil, errs.E(errs.Invalid, op, "the identity does not match any recipient of this backup (wrong --identity file?)", err)
		}
		return Manifest{}, nil, errCorrupt(op, "its encryption header is damaged or it is not an age file", err)
	}
	tr := tar.NewReader(ar)
	h, err := tr.Next()
	if err != nil {
		return Manifest{}, nil, errCorrupt(op, "cannot read its first member", err)
	}
	if h.Name != manifestMember || h.Size > maxManifestSize || h.Size < 0 {
		return Manifest{}, nil, errCorrupt(op, "it does not start with a manifest", nil)
	}
	mb, err := io.ReadAll(io.LimitReader(tr, h.Size))
	if err != nil {
		return Manifest{}, nil, errCorrupt(op, "cannot read its manifest (decryption failed: altered or damaged)", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, nil, errCorrupt(op, "its manifest is not valid", err)
	}
	if m.Format != FormatVersion {
		return Manifest{}, nil, errs.E(errs.Invalid, op, fmt.Sprintf("archive format %d is not supported by this Rampart (it reads format %d)", m.Format, FormatVersion))
	}
	want := map[string]Member{}
	for _, mem := range m.Members {
		want[mem.Name] = mem
	}
	var out []spooled
	seen := map[string]bool{}
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, out, errCorrupt(op, "decryption failed: the archive was altered or damaged", err)
		}
		mem, ok := want[h.Name]
		if !ok || seen[h.Name] || h.Typeflag != tar.TypeReg {
			return m, out, errCorrupt(op, fmt.Sprintf("member %q is not in the manifest", h.Name), nil)
		}
		if h.Size != mem.Size {
			return m, out, errCorrupt(op, fmt.Sprintf("member %s has %d bytes, the manifest says %d", h.Name, h.Size, mem.Size), nil)
		}
		seen[h.Name] = true
		p := filepath.Join(dir, fmt.Sprintf("m%04d", i))
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- a name made here
		if err != nil {
			return m, out, errs.E(op, err)
		}
		hs := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, hs), tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return m, out, errCorrupt(op, "decryption failed in member "+h.Name+": the archive was altered or damaged", err)
		}
		if sum := hex.EncodeToString(hs.Sum(nil)); sum != mem.SHA256 || n != mem.Size {
			return m, out, errCorrupt(op, "member "+h.Name+" does not match its SHA-256 in the manifest", nil)
		}
		out = append(out, spooled{Member: mem, path: p})
	}
	for _, mem := range m.Members {
		if !seen[mem.Name] {
			return m, out, errCorrupt(op, "member "+mem.Name+" is missing", nil)
		}
	}
	// Read to the end: age authenticates the last chunk only there.
	if _, err := io.Copy(io.Discard, ar); err != nil {
		return m, out, errCorrupt(op, "decryption failed at its end: the archive was altered or damaged", err)
	}
	return m, out, nil
}

// ParseIdentities reads age identities (AGE-SECRET-KEY-1...) from a file.
func ParseIdentities(path string) ([]age.Identity, error) {
	const op = "backup.ParseIdentities"
	f, err := os.Open(path) // #nosec G304 -- the operator's identity file
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "cannot read the identity file "+path, err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(io.LimitReader(f, 1<<20))
	if err != nil {
		// age's parser may quote the offending line: never show it.
		return nil, errs.E(errs.Invalid, op, "the identity file "+path+" holds no valid age identity (AGE-SECRET-KEY-1...)")
	}
	return ids, nil
}

// ParseRecipients parses age X25519 recipients (age1...).
func ParseRecipients(ss []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, s := range ss {
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, errs.E(errs.Invalid, "backup.ParseRecipients", fmt.Sprintf("%q is not an age X25519 recipient (age1...)", s), err)
		}
		out = append(out, r)
	}
	return out, nil
}

// KeyPair is a new age X25519 key pair.
type KeyPair struct {
	Recipient string `json:"recipient"` // public: goes into backup.recipients
	Identity  string `json:"identity"`  // private: store offline, never on the server
}

// GenerateKeyPair makes a new X25519 identity and its recipient.
func GenerateKeyPair() (KeyPair, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return KeyPair{}, errs.E("backup.GenerateKeyPair", err)
	}
	return KeyPair{Recipient: id.Recipient().String(), Identity: id.String()}, nil
}
