package kyc_test

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc"
)

// multipartRequest builds a POST with the given (name, content) parts.
func multipartRequest(t *testing.T, parts ...[2]string) *http.Request {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		w, err := mw.CreateFormFile(p[0], p[0]+".bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(p[1]))
	}
	_ = mw.Close()
	r := httptest.NewRequest("POST", "/", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

func TestReadMultipartKeepsLargePartsInMemory(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	big := strings.Repeat("d", 11<<20) // above the 10 MiB that ParseMultipartForm keeps in memory
	r := multipartRequest(t, [2]string{"document", big}, [2]string{"selfie", "s"}, [2]string{"mrz", "P<UTO"})
	sub, err := kyc.ReadMultipart(r, kyc.Limits{MaxImageBytes: 12 << 20, MaxImagePixels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Document) != len(big) || string(sub.Selfie) != "s" || sub.MRZ != "P<UTO" {
		t.Fatalf("document %d bytes, selfie %q, mrz %q", len(sub.Document), sub.Selfie, sub.MRZ)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("TMPDIR holds %v", entries)
	}
	doc := sub.Document
	sub.Wipe()
	if !bytes.Equal(doc, make([]byte, len(doc))) {
		t.Error("Wipe left image bytes")
	}
}

func TestReadMultipartRefusesWhatItCannotUse(t *testing.T) {
	limits := kyc.Limits{MaxImageBytes: 1000, MaxImagePixels: 1}
	tests := []struct {
		name  string
		parts [][2]string
		want  string
	}{
		{"a part over the limit", [][2]string{{"document", strings.Repeat("x", 1001)}, {"selfie", "s"}}, "document is larger than this server's limit of 1000 bytes"},
		{"a part twice", [][2]string{{"document", "a"}, {"document", "b"}, {"selfie", "s"}}, "the part document is sent more than once"},
		{"an unknown part", [][2]string{{"passport", "a"}}, `unknown part "passport"`},
		{"no document", [][2]string{{"selfie", "s"}}, "the part document (the identity document image) is missing"},
		{"an MRZ over 512 bytes", [][2]string{{"mrz", strings.Repeat("<", 600)}}, "mrz: the text is longer than 512 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kyc.ReadMultipart(multipartRequest(t, tt.parts...), limits)
			var tl *kyc.TooLargeError
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
			if !errors.As(err, &tl) && errs.KindOf(err) != errs.Invalid {
				t.Errorf("err kind %v", errs.KindOf(err))
			}
		})
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	if _, err := kyc.ReadMultipart(r, limits); errs.KindOf(err) != errs.Invalid {
		t.Errorf("JSON body: %v", err)
	}
}
