package kyc

import (
	"context"

	"github.com/rampart-platform/rampart/internal/errs"
)

// MRZText is an OCR that returns text the client already extracted: the
// image is not read at all. It serves tests and clients that run their own
// OCR (the HTTP layer passes the "mrz" form field as Options.MRZ instead).
type MRZText string

var _ OCR = MRZText("")

// Extract returns the text, or errs.Invalid when it is empty.
func (t MRZText) Extract(context.Context, []byte) (string, error) {
	if t == "" {
		return "", errs.E(errs.Invalid, "kyc.MRZText", "mrz: no machine-readable zone text was supplied")
	}
	return string(t), nil
}
