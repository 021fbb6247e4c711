//go:build tesseract

package kyc

import (
	"context"

	"github.com/otiai10/gosseract/v2"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Tesseract reads the MRZ with the Tesseract OCR engine (cgo; Debian
// packages libtesseract-dev and tesseract-ocr-eng). It is built only with
// -tags tesseract, so the default build and CI need neither.
//
// Zero retention: gosseract hands the bytes to Leptonica's pixReadMem, an
// in-memory decode; no temporary file is written. The decoded pixels live
// in C memory that Close frees (Leptonica does not zero it: a limit of the
// engine, documented in docs/architecture.md).
type Tesseract struct{}

var _ OCR = Tesseract{}

// mrzAlphabet is the only output Tesseract may produce.
const mrzAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

// Extract returns the MRZ lines found in the image: the last 2 or 3 lines
// whose lengths are those of a TD1, TD2 or TD3. errs.Invalid when there are
// none.
func (Tesseract) Extract(ctx context.Context, image []byte) (string, error) {
	const op = "kyc.Tesseract"
	if err := ctx.Err(); err != nil {
		return "", errs.E(errs.Unavailable, op, "cancelled", err)
	}
	c := gosseract.NewClient()
	defer func() { _ = c.Close() }()
	if err := c.SetLanguage("eng"); err != nil {
		return "", errs.E(errs.Unavailable, op, "tesseract has no English data (tesseract-ocr-eng)", err)
	}
	if err := c.SetWhitelist(mrzAlphabet); err != nil {
		return "", errs.E(errs.Unavailable, op, "tesseract refused its settings", err)
	}
	if err := c.SetImageFromBytes(image); err != nil {
		return "", errs.E(errs.Invalid, op, "the document image cannot be read by the OCR engine")
	}
	text, err := c.Text()
	if err != nil {
		return "", errs.E(errs.Invalid, op, "no text found in the document image")
	}
	if mrz := FindMRZ(text); mrz != "" {
		return mrz, nil
	}
	return "", errs.E(errs.Invalid, op, "no machine-readable zone found in the document image; send it as the mrz field")
}
