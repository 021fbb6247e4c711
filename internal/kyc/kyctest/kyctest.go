// Package kyctest gives the KYC tests real inputs: MRZ strings with valid
// check digits, the embedded face matcher started for a test, and a small
// labelled set of face image pairs.
//
// Provenance of the faces: the six photographs demo/sample1.jpg ...
// sample6.jpg inside the npm package @vladmandic/face-api 1.7.15 (MIT
// licence; its README says the photos were taken by the author). They are
// not copied into this repository: `npm ci` in internal/kyc/faceservice
// installs them with the package, and Pairs crops them in memory. The face
// boxes below were found once with the package's own detector (SSD
// MobileNet v1); faces it found with a confidence under 0.85 (profiles,
// half-hidden faces) are left out, and so is one face (sample4, at
// 257,184) that it no longer finds once shrunk to a document photo.
//
// Labels: a same-person pair is one face seen twice, once as a document
// photo (scaled to 0.75, recompressed at JPEG quality 50)
// and once as a selfie (wider crop, mirrored, in colour, at 0.6 scale); a
// different-person pair is two different faces from the same photograph,
// which are certainly two people. Same-person pairs therefore measure
// robustness to document-like degradation of one capture, not ageing or a
// second session: the published LFW accuracy of the model (docs) is the
// figure for that.
package kyctest

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/kyc/mrz"
)

// ServiceDir is internal/kyc/faceservice in this checkout.
func ServiceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "faceservice")
}

// NeedNode skips the test when node is not installed, and fails it when
// node is there but the face service's packages are not (CI runs npm ci).
func NeedNode(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the embedded face matcher needs Node.js 20 (see docs/architecture.md, Identity verification)")
	}
	if _, err := os.Stat(filepath.Join(ServiceDir(), "node_modules", "@vladmandic", "face-api", "package.json")); err != nil {
		t.Fatalf("node is installed but the face service's packages are not: run `npm ci` in %s (.ci/run does)", ServiceDir())
	}
	return node
}

// TD3 returns a passport MRZ with valid check digits for the given fields.
func TD3(state, surname, given, number, birth, sex, expiry string) string {
	pad := func(s string, n int) string { return (s + strings.Repeat("<", n))[:n] }
	cd := func(s string) string { c, _ := mrz.CheckDigit(s); return string(c) }
	l1 := pad("P<"+state+surname+"<<"+strings.ReplaceAll(given, " ", "<"), 44)
	num := pad(number, 9)
	personal := pad("", 14)
	l2 := num + cd(num) + state + birth + cd(birth) + sex + expiry + cd(expiry) + personal + "<"
	l2 += cd(l2[0:10] + l2[13:20] + l2[21:43])
	return l1 + "\n" + l2
}

// ValidMRZ is a TD3 for a fictional holder that expires in 2035.
var ValidMRZ = TD3("UTO", "ERIKSSON", "ANNA MARIA", "L898902C3", "740812", "F", "350415")

// Box is a face in a sample photo.
type Box struct{ X, Y, W, H int }

// faces lists, per sample photo, the faces found in it.
var faces = map[int][]Box{
	1: {{414, 355, 178, 238}, {838, 421, 187, 227}, {1476, 200, 203, 241}},
	2: {{1447, 153, 193, 243}, {901, 218, 151, 235}},
	3: {{585, 329, 199, 271}, {1514, 292, 170, 279}},
	4: {{664, 52, 187, 258}, {988, 180, 169, 228}},
	5: {{787, 109, 156, 212}, {1112, 198, 159, 237}, {1406, 390, 166, 270}, {597, 415, 167, 249}},
	6: {{681, 321, 159, 306}, {1181, 305, 188, 280}, {1487, 263, 212, 294}, {250, 467, 210, 291}},
}

// Pair is two images with the truth about them.
type Pair struct {
	Name       string
	Document   []byte
	Selfie     []byte
	SamePerson bool
}

// Pairs builds the labelled set: one same-person pair per face and one
// different-person pair per face (with the next face of its photo).
// limit > 0 keeps only the first limit faces (cheaper tests).
func Pairs(t testing.TB, limit int) []Pair {
	t.Helper()
	var out []Pair
	n := 0
	for photo := 1; photo <= 6; photo++ {
		img := loadSample(t, photo)
		boxes := faces[photo]
		for i, b := range boxes {
			if limit > 0 && n >= limit {
				return out
			}
			n++
			other := boxes[(i+1)%len(boxes)]
			name := "sample" + strconv.Itoa(photo) + "-face" + strconv.Itoa(i)
			out = append(out,
				Pair{Name: name + "-same", Document: DocumentPhoto(t, img, b), Selfie: Selfie(t, img, b), SamePerson: true},
				Pair{Name: name + "-other", Document: DocumentPhoto(t, img, b), Selfie: Selfie(t, img, other), SamePerson: false})
		}
	}
	return out
}

// SampleFace returns one face as a document photo and as a selfie.
func SampleFace(t testing.TB) (document, selfie []byte) {
	img := loadSample(t, 1)
	return DocumentPhoto(t, img, faces[1][0]), Selfie(t, img, faces[1][0])
}

func loadSample(t testing.TB, n int) image.Image {
	t.Helper()
	p := filepath.Join(ServiceDir(), "node_modules", "@vladmandic", "face-api", "demo", "sample"+strconv.Itoa(n)+".jpg")
	f, err := os.Open(p) // #nosec G304 -- test fixture path
	if err != nil {
		t.Fatalf("face sample: %v (run npm ci in %s)", err, ServiceDir())
	}
	defer func() { _ = f.Close() }()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// crop returns the square around b grown by margin (a fraction of its
// size), scaled by scale, optionally mirrored.
func crop(img image.Image, b Box, margin, scale float64, mirror bool) image.Image {
	side := float64(max(b.W, b.H)) * (1 + margin)
	cx, cy := float64(b.X)+float64(b.W)/2, float64(b.Y)+float64(b.H)/2
	x0, y0 := cx-side/2, cy-side/2
	n := int(side * scale)
	out := image.NewRGBA(image.Rect(0, 0, n, n))
	bounds := img.Bounds()
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			sx := int(x0 + float64(x)/scale)
			if mirror {
				sx = int(x0 + float64(n-1-x)/scale)
			}
			sy := int(y0 + float64(y)/scale)
			sx = min(max(sx, bounds.Min.X), bounds.Max.X-1)
			sy = min(max(sy, bounds.Min.Y), bounds.Max.Y-1)
			out.SetRGBA(x, y, color.RGBAModel.Convert(img.At(sx, sy)).(color.RGBA))
		}
	}
	return out
}

func encode(t testing.TB, img image.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// DocumentPhoto renders face b like a printed document photo.
func DocumentPhoto(t testing.TB, img image.Image, b Box) []byte {
	return encode(t, crop(img, b, 1.0, 0.75, false), 50)
}

// Selfie renders face b like a selfie: wider, mirrored, in colour.
func Selfie(t testing.TB, img image.Image, b Box) []byte {
	return encode(t, crop(img, b, 1.2, 0.6, true), 90)
}
