package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func newRoot(t testing.TB) *keys.LocalRootKey {
	t.Helper()
	root, err := keys.OpenLocalRootKey(filepath.Join(t.TempDir(), "root.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func newManager(t testing.TB, db *store.DB, root keys.RootKey) *keys.Manager {
	return keys.New(db, root, time.Now)
}

func createOrg(t testing.TB, db *store.DB, m *keys.Manager, org string) {
	t.Helper()
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error { return m.Create(ctx, tx, org) })
	if err != nil {
		t.Fatalf("create keys for %s: %v", org, err)
	}
}

func TestEncryptDecryptRoundTripAndBinding(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newManager(t, db, newRoot(t))
		createOrg(t, db, m, "org-a")
		createOrg(t, db, m, "org-b")
		ad := keys.AssociatedData("records", "body", "rec-1")
		ct, err := m.Encrypt(ctx, "org-a", []byte("patient notes"), ad)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := m.Decrypt(ctx, "org-a", ct, ad)
		if err != nil || string(pt) != "patient notes" {
			t.Fatalf("round trip: %q, %v", pt, err)
		}
		cases := []struct {
			name string
			org  string
			ad   []byte
			ct   []byte
		}{
			{"wrong associated data (moved to another row)", "org-a", keys.AssociatedData("records", "body", "rec-2"), ct},
			{"ciphertext moved to another organization", "org-b", ad, ct},
			{"one flipped bit", "org-a", ad, flip(ct, len(ct)-1)},
			{"truncated ciphertext", "org-a", ad, ct[:10]},
		}
		for _, c := range cases {
			if _, err := m.Decrypt(ctx, c.org, c.ct, c.ad); errs.KindOf(err) != errs.Integrity {
				t.Errorf("%s: got %v, want an integrity error", c.name, err)
			}
		}
	})
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestAssociatedDataIsUnambiguous(t *testing.T) {
	if bytes.Equal(keys.AssociatedData("a:b", "c"), keys.AssociatedData("a", "b:c")) {
		t.Fatal("different part lists encode alike")
	}
}

func TestRotationKeepsOldDataReadable(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		root := newRoot(t)
		m := newManager(t, db, root)
		createOrg(t, db, m, "org-r")
		before, err := m.Encrypt(ctx, "org-r", []byte("old secret"), nil)
		if err != nil {
			t.Fatal(err)
		}
		// A second node with the pre-rotation keyset in its cache.
		other := newManager(t, db, root)
		if _, err := other.Decrypt(ctx, "org-r", before, nil); err != nil {
			t.Fatal(err)
		}
		var st keys.Status
		err = db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			st, err = m.Rotate(ctx, tx, "org-r")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != 2 || st.AEADKeys != 2 || st.StreamKeys != 2 {
			t.Fatalf("status after rotation = %+v", st)
		}
		after, err := m.Encrypt(ctx, "org-r", []byte("new secret"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before[:5], after[:5]) {
			t.Fatal("new data still encrypted with the old primary key")
		}
		for _, mgr := range []*keys.Manager{m, other} {
			if pt, err := mgr.Decrypt(ctx, "org-r", before, nil); err != nil || string(pt) != "old secret" {
				t.Fatalf("pre-rotation data: %q, %v", pt, err)
			}
			if pt, err := mgr.Decrypt(ctx, "org-r", after, nil); err != nil || string(pt) != "new secret" {
				t.Fatalf("post-rotation data: %q, %v", pt, err)
			}
		}
		sts, err := m.Statuses(ctx)
		if err != nil || len(sts) != 1 || sts[0].Version != 2 {
			t.Fatalf("Statuses = %+v, %v", sts, err)
		}
	})
}

func TestShreddingMakesDataPermanentlyUnreadable(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		root := newRoot(t)
		m := newManager(t, db, root)
		createOrg(t, db, m, "org-s")
		ct, err := m.Encrypt(ctx, "org-s", []byte("doomed"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return m.Shred(ctx, tx, "org-s") }); err != nil {
			t.Fatal(err)
		}
		fresh := newManager(t, db, root) // another node, or a restarted one
		for name, mgr := range map[string]*keys.Manager{"same node": m, "fresh node": fresh} {
			_, err := mgr.Decrypt(ctx, "org-s", ct, nil)
			if errs.KindOf(err) != errs.Shredded {
				t.Fatalf("%s: decrypt after shred: %v, want shredded", name, err)
			}
			if !strings.Contains(errs.SafeMessage(err), "destroyed") {
				t.Fatalf("%s: unclear message %q", name, errs.SafeMessage(err))
			}
			if _, err := mgr.Encrypt(ctx, "org-s", []byte("x"), nil); errs.KindOf(err) != errs.Shredded {
				t.Fatalf("%s: encrypt after shred: %v", name, err)
			}
		}
		err = db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return fresh.Create(ctx, tx, "org-s") })
		if errs.KindOf(err) != errs.Shredded {
			t.Fatalf("new keys created for a shredded organization: %v", err)
		}
	})
}

func TestWrongRootKeyCannotUnwrap(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newManager(t, db, newRoot(t))
		createOrg(t, db, m, "org-w")
		ct, _ := m.Encrypt(ctx, "org-w", []byte("x"), nil)
		intruder := newManager(t, db, newRoot(t))
		if _, err := intruder.Decrypt(ctx, "org-w", ct, nil); errs.KindOf(err) != errs.Integrity {
			t.Fatalf("decrypt with another root key: %v, want integrity error", err)
		}
	})
}

func TestCreateTwiceIsExists(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	m := newManager(t, db, newRoot(t))
	createOrg(t, db, m, "o")
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error { return m.Create(ctx, tx, "o") })
	if errs.KindOf(err) != errs.Exists {
		t.Fatalf("second Create: %v", err)
	}
}

func TestDatabaseHoldsNoPlaintext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(dir, "r.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rootPath := filepath.Join(dir, "root.key")
	root, err := keys.OpenLocalRootKey(rootPath, true)
	if err != nil {
		t.Fatal(err)
	}
	m := keys.New(db, root, time.Now)
	createOrg(t, db, m, "org-p")
	secret := "CORRECT-HORSE-BATTERY-STAPLE-4242"
	ct, err := m.Encrypt(ctx, "org-p", []byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE scratch (v BLOB)"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO scratch (v) VALUES (?)", ct)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rootFile, _ := os.ReadFile(rootPath)
	rootB64 := strings.TrimSpace(strings.SplitN(string(rootFile), "\n", 2)[1])
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == "root.key" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s contains the plaintext", e.Name())
		}
		if bytes.Contains(b, []byte(rootB64)) {
			t.Fatalf("%s contains the root key", e.Name())
		}
	}
}

func TestLocalRootKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	if _, err := keys.OpenLocalRootKey(path, false); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("missing file without create: %v", err)
	}
	k1, err := keys.OpenLocalRootKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode %04o, want 0600", fi.Mode().Perm())
	}
	k2, err := keys.OpenLocalRootKey(path, true)
	if err != nil || k2.ID() != k1.ID() {
		t.Fatalf("reopen gave another key: %v %s %s", err, k1.ID(), k2.ID())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = keys.OpenLocalRootKey(path, true)
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "chmod 600") {
		t.Fatalf("world-readable root key accepted or unclear: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.OpenLocalRootKey(bad, false); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("garbage key file: %v", err)
	}
}

func TestStreamingRoundTripAndTamper(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	ctx := context.Background()
	m := newManager(t, db, newRoot(t))
	createOrg(t, db, m, "org-f")
	plain := make([]byte, 3<<20+123) // several segments and a partial one
	_, _ = rand.Read(plain)
	ad := keys.AssociatedData("files", "file-1")
	var sealed bytes.Buffer
	w, err := m.EncryptingWriter(ctx, "org-f", &sealed, ad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(plain)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	read := func(ct, ad []byte) ([]byte, error) {
		r, err := m.DecryptingReader(ctx, "org-f", bytes.NewReader(ct), ad)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	got, err := read(sealed.Bytes(), ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("stream round trip failed: %v", err)
	}
	ct := sealed.Bytes()
	for name, c := range map[string]struct{ ct, ad []byte }{
		"byte flipped in second segment": {flip(ct, 1<<20+500), ad},
		"last segment cut off":           {ct[:len(ct)-200], ad},
		"moved to another file":          {ct, keys.AssociatedData("files", "file-2")},
	} {
		if _, err := read(c.ct, c.ad); errs.KindOf(err) != errs.Integrity {
			t.Errorf("%s: got %v, want integrity error", name, err)
		}
	}
}
