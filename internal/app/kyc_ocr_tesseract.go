//go:build tesseract

package app

import "github.com/rampart-platform/rampart/internal/kyc"

// defaultOCR reads the MRZ with Tesseract in a -tags tesseract build; the
// mrz form field still wins when a client sends it.
func defaultOCR() kyc.OCR { return kyc.Tesseract{} }
