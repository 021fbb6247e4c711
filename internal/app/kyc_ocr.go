//go:build !tesseract

package app

import "github.com/rampart-platform/rampart/internal/kyc"

// defaultOCR is nil without the tesseract build tag: clients send the MRZ.
func defaultOCR() kyc.OCR { return nil }
