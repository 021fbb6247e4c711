//go:build tesseract

package kyc_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"testing"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc"
)

func TestTesseractFindsNoZoneInABlankImage(t *testing.T) {
	var b bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 300, 100))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	_ = png.Encode(&b, img)
	_, err := kyc.Tesseract{}.Extract(context.Background(), b.Bytes())
	if errs.KindOf(err) != errs.Invalid {
		t.Fatalf("err = %v", err)
	}
}
