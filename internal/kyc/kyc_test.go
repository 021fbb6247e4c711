package kyc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc"
	"github.com/rampart-platform/rampart/internal/kyc/facematch"
	"github.com/rampart-platform/rampart/internal/kyc/kyctest"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const org = "00000000-0000-4000-8000-00000000000a"

// fixedMatcher answers a constant score and records what it was given, for
// tests about everything but the face model (the model has its own tests
// in facematch, and TestFiftyVerificationsLeaveNoFile uses it).
type fixedMatcher struct {
	score float64
	err   error
	seen  [][]byte
}

func (m *fixedMatcher) Name() string { return "fixed" }
func (m *fixedMatcher) Match(_ context.Context, a, b []byte) (float64, error) {
	m.seen = append(m.seen, a, b)
	return m.score, m.err
}

func verifier() authz.Principal {
	return authz.Principal{UserID: "u1", OrgID: org, Kind: authz.KindUser, Roles: []authz.Role{{Name: authz.RoleAdmin, Builtin: true}}}
}

func setup(t *testing.T, db *store.DB, m kyc.FaceMatcher) *kyc.Service {
	k := testutil.NewKernel(t, db, func() time.Time { return now })
	k.CreateOrg(t, db, org, "acme")
	return kyc.New(db, k.Audit, nil, m, 0.58, kyc.DefaultLimits, func() time.Time { return now })
}

func pngOf(t testing.TB, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// auditDetails returns the details column of every kyc.verify entry.
func auditDetails(t *testing.T, db *store.DB) []string {
	var out []string
	err := db.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT actor, target, details FROM audit_events WHERE org_id = ? AND action = ?", org, "kyc.verify")
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var actor, target, d string
			if err := rows.Scan(&actor, &target, &d); err != nil {
				return err
			}
			out = append(out, actor+" "+target+" "+d)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyDecidesAndAuditsOnlyTheOutcome(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		tests := []struct {
			name    string
			mrz     string
			score   float64
			want    string
			reasons []string
		}{
			{"valid document and matching faces", kyctest.ValidMRZ, 0.8, kyc.Verified, []string{}},
			{"faces below the threshold", kyctest.ValidMRZ, 0.57, kyc.Rejected, []string{"face_mismatch"}},
			{"the ICAO specimen expired in 2012", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10", 0.9, kyc.Rejected, []string{"document_expired"}},
			{"a wrong check digit", strings.Replace(kyctest.ValidMRZ, "7408122F", "7408123F", 1), 0.9, kyc.Rejected, []string{"mrz_check_digit"}},
		}
		m := &fixedMatcher{}
		svc := setup(t, db, m)
		for _, tt := range tests {
			m.score = tt.score
			doc, selfie := pngOf(t, 64, 48), pngOf(t, 48, 64)
			res, err := svc.Verify(context.Background(), verifier(), doc, selfie, kyc.Options{MRZ: tt.mrz})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if res.Decision != tt.want || !slices.Equal(res.Reasons, tt.reasons) || res.FaceScore != tt.score || res.FaceThreshold != 0.58 {
				t.Errorf("%s: %+v", tt.name, res)
			}
			if res.Document.Surname != "ERIKSSON" || res.Matcher != "fixed" {
				t.Errorf("%s: document %+v", tt.name, res.Document)
			}
			if !bytes.Equal(doc, make([]byte, len(doc))) || !bytes.Equal(selfie, make([]byte, len(selfie))) {
				t.Errorf("%s: the images were not zeroed", tt.name)
			}
		}
		entries := auditDetails(t, db)
		if len(entries) != len(tests) {
			t.Fatalf("%d audit entries", len(entries))
		}
		want := `user:u1 kyc:verification {"decision":"verified","document_type":"P","issuing_country":"UTO","score":0.8}`
		if entries[0] != want {
			t.Errorf("audit entry\n got %s\nwant %s", entries[0], want)
		}
	})
}

func TestVerifyRefusesBadInputBeforeMatching(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	m := &fixedMatcher{score: 1}
	svc := setup(t, db, m)
	jpegHeaderOnly := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	bomb := pngOf(t, 1, 1)
	// Rewrite the IHDR (and its CRC) to claim 100000 x 100000 pixels: a
	// 10-gigapixel bomb in 70 bytes, refused from its header alone.
	bomb[16], bomb[17], bomb[18], bomb[19] = 0, 1, 0x86, 0xa0
	bomb[20], bomb[21], bomb[22], bomb[23] = 0, 1, 0x86, 0xa0
	crc := crc32.ChecksumIEEE(bomb[12:29])
	bomb[29], bomb[30], bomb[31], bomb[32] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	tests := []struct {
		name          string
		doc, selfie   []byte
		mrz, wantText string
		kind          errs.Kind
	}{
		{"text instead of an image", []byte("hello, I am a passport"), pngOf(t, 8, 8), kyctest.ValidMRZ, "document: the image is text/plain; charset=utf-8; only image/jpeg and image/png are accepted", errs.Invalid},
		{"a GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), pngOf(t, 8, 8), kyctest.ValidMRZ, "document: the image is image/gif", errs.Invalid},
		{"a pixel bomb", pngOf(t, 8, 8), bomb, kyctest.ValidMRZ, "selfie: the image is 100000x100000 pixels; at most 40000000 pixels are accepted", errs.Invalid},
		{"a truncated JPEG", jpegHeaderOnly, pngOf(t, 8, 8), kyctest.ValidMRZ, "document: the image header cannot be read as image/jpeg", errs.Invalid},
		{"an empty selfie", pngOf(t, 8, 8), nil, kyctest.ValidMRZ, "selfie: the image is empty", errs.Invalid},
		{"no MRZ and no OCR", pngOf(t, 8, 8), pngOf(t, 8, 8), "", "send the machine-readable zone as the mrz field", errs.Invalid},
		{"a malformed MRZ", pngOf(t, 8, 8), pngOf(t, 8, 8), "P<UTO\nL89", "mrz: got 2 line(s) of length 5, 3", errs.Invalid},
		{"an O for a 0 in a date", pngOf(t, 8, 8), pngOf(t, 8, 8), strings.Replace(kyctest.ValidMRZ, "740812", "74O812", 1), "(birth date) : 'O' is not a digit", errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, selfie := slices.Clone(tt.doc), slices.Clone(tt.selfie)
			_, err := svc.Verify(context.Background(), verifier(), doc, selfie, kyc.Options{MRZ: tt.mrz})
			if errs.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v; want %v containing %q", err, tt.kind, tt.wantText)
			}
			if len(m.seen) != 0 {
				t.Error("the matcher saw a refused request")
			}
			if !bytes.Equal(doc, make([]byte, len(doc))) || !bytes.Equal(selfie, make([]byte, len(selfie))) {
				t.Error("the images were not zeroed on the error path")
			}
		})
	}
	big := kyc.New(nil, nil, nil, m, 0.5, kyc.Limits{MaxImageBytes: 100, MaxImagePixels: 1e6}, time.Now)
	_, err := big.Verify(context.Background(), verifier(), pngOf(t, 100, 100), pngOf(t, 8, 8), kyc.Options{MRZ: kyctest.ValidMRZ})
	var ie *kyc.ImageError
	if !errors.As(err, &ie) || ie.Code != "too_large" {
		t.Errorf("err = %v", err)
	}
	if got := auditDetails(t, db); len(got) != 0 {
		t.Errorf("refused requests were audited as verifications: %v", got)
	}
}

func TestVerifyNeedsThePermission(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	m := &fixedMatcher{score: 1}
	svc := setup(t, db, m)
	for _, p := range []authz.Principal{
		{UserID: "u2", OrgID: org, Kind: authz.KindUser, Roles: []authz.Role{{Name: authz.RoleMember, Builtin: true}}},
		{UserID: "t1", OrgID: org, Kind: authz.KindToken, Roles: []authz.Role{{Name: authz.RoleOwner, Builtin: true}}, TokenPermissions: []authz.Permission{authz.RecordsRead}},
	} {
		doc := pngOf(t, 8, 8)
		_, err := svc.Verify(context.Background(), p, doc, pngOf(t, 8, 8), kyc.Options{MRZ: kyctest.ValidMRZ})
		if errs.KindOf(err) != errs.Forbidden || !strings.Contains(err.Error(), "kyc.verify") {
			t.Errorf("%s: err = %v", p.UserID, err)
		}
		if !bytes.Equal(doc, make([]byte, len(doc))) {
			t.Error("not zeroed")
		}
	}
	if len(m.seen) != 0 {
		t.Error("the matcher ran for a forbidden caller")
	}
}

// listing is every path under dir (files and directories).
func listing(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openFilesUnder lists the files process pid has open under any of dirs.
func openFilesUnder(pid int, dirs ...string) []string {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil // not Linux, or the process is gone
	}
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		for _, d := range dirs {
			if strings.HasPrefix(target, d+string(os.PathSeparator)) {
				out = append(out, target)
			}
		}
	}
	return out
}

// TestFiftyVerificationsLeaveNoFile is K5's acceptance test: 50
// verifications through the real embedded face matcher create no file in
// the data directory or TMPDIR (nor hold one open, in this process or in
// the matcher's), and the audit table holds no image bytes, names,
// numbers or dates.
func TestFiftyVerificationsLeaveNoFile(t *testing.T) {
	node := kyctest.NeedNode(t)
	tmp, dataDir := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	db, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(dataDir, "rampart.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e, err := facematch.StartEmbedded(context.Background(), facematch.EmbeddedConfig{Node: node, ServiceDir: kyctest.ServiceDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	svc := setup(t, db, e)
	doc, selfie := kyctest.SampleFace(t)
	// One verification first: the database's journal files appear on the
	// first write, which is not what this test is about.
	if _, err := svc.Verify(context.Background(), verifier(), slices.Clone(doc), slices.Clone(selfie), kyc.Options{MRZ: kyctest.ValidMRZ}); err != nil {
		t.Fatal(err)
	}
	beforeTmp, beforeData := listing(t, tmp), listing(t, dataDir)
	var lat []time.Duration
	for i := range 50 {
		d, s := slices.Clone(doc), slices.Clone(selfie)
		start := time.Now()
		res, err := svc.Verify(context.Background(), verifier(), d, s, kyc.Options{MRZ: kyctest.ValidMRZ})
		lat = append(lat, time.Since(start))
		if err != nil {
			t.Fatalf("verification %d: %v", i, err)
		}
		if res.Decision != kyc.Verified {
			t.Fatalf("verification %d: %+v", i, res)
		}
		for _, pid := range []int{os.Getpid(), e.PID()} {
			for _, f := range openFilesUnder(pid, tmp, dataDir) {
				if !strings.HasPrefix(filepath.Base(f), "rampart.db") && !strings.HasSuffix(f, "face.sock") {
					t.Errorf("process %d has %s open", pid, f)
				}
			}
		}
	}
	if after := listing(t, tmp); !slices.Equal(beforeTmp, after) {
		t.Errorf("TMPDIR changed:\nbefore %v\nafter  %v", beforeTmp, after)
	}
	if after := listing(t, dataDir); !slices.Equal(beforeData, after) {
		t.Errorf("data directory changed:\nbefore %v\nafter  %v", beforeData, after)
	}
	entries := auditDetails(t, db)
	if len(entries) != 51 {
		t.Fatalf("%d audit entries", len(entries))
	}
	for _, forbidden := range []string{"ERIKSSON", "ANNA", "MARIA", "L898902C3", "740812", "350415", "\xff\xd8", "/9j/", "iVBOR"} {
		for _, d := range entries {
			if strings.Contains(d, forbidden) {
				t.Fatalf("audit entry holds %q: %s", forbidden, d)
			}
		}
	}
	// The whole table too: no row anywhere holds the images' bytes.
	var size int
	_ = db.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT COALESCE(MAX(LENGTH(details)), 0) FROM audit_events").Scan(&size)
	})
	if size > 200 {
		t.Errorf("an audit entry of %d bytes: more than an outcome", size)
	}
	slices.Sort(lat)
	t.Logf("50 verifications (embedded matcher, document %d B, selfie %d B): p50 %v p99 %v",
		len(doc), len(selfie), lat[len(lat)/2], lat[len(lat)*99/100])
}
