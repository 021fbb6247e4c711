package kyc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG header reader for DecodeConfig
	_ "image/png"  // registers the PNG header reader for DecodeConfig
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc/mrz"
	"github.com/rampart-platform/rampart/internal/store"
)

// OCR extracts the MRZ text from a document image. Implementations must
// not keep, write or log the image; Extract may return errs.Invalid when no
// MRZ can be found.
type OCR interface {
	Extract(ctx context.Context, image []byte) (string, error)
}

// FaceMatcher compares the face on a document with a selfie. Score is in
// [0, 1], higher meaning more alike; the Service decides at its threshold.
// It returns errs.Invalid when an image holds no face and errs.Unavailable
// when the matcher cannot be reached. Implementations must not keep, write
// or log the images or any embedding computed from them.
type FaceMatcher interface {
	Match(ctx context.Context, document, selfie []byte) (float64, error)
	// Name says which matcher answered, for the response.
	Name() string
}

// Decisions.
const (
	Verified = "verified"
	Rejected = "rejected"
)

// Limits bound what Verify accepts before it looks inside an image.
type Limits struct {
	MaxImageBytes  int64 // per image
	MaxImagePixels int64 // width x height, read from the header
}

// DefaultLimits: 10 MiB and 40 megapixels per image.
var DefaultLimits = Limits{MaxImageBytes: 10 << 20, MaxImagePixels: 40_000_000}

// Options tune one verification.
type Options struct {
	// MRZ is the machine-readable zone as text, for clients that did the
	// OCR themselves (and for tests). When empty, the Service's OCR reads
	// the document image.
	MRZ string
}

// Result is the outcome of one verification. It holds the MRZ fields for
// the caller that submitted them; it is never stored.
type Result struct {
	Decision      string        `json:"decision"`
	Reasons       []string      `json:"reasons"`
	Document      *mrz.Document `json:"document"`
	MRZValid      bool          `json:"mrz_valid"`
	Expired       bool          `json:"expired"`
	FaceScore     float64       `json:"face_score"`
	FaceThreshold float64       `json:"face_threshold"`
	FaceMatch     bool          `json:"face_match"`
	Matcher       string        `json:"matcher"`
	ProcessingMS  int64         `json:"processing_ms"`
}

// Service runs verifications.
type Service struct {
	db        *store.DB
	audit     *audit.Log
	ocr       OCR // nil: clients must send the MRZ text
	faces     FaceMatcher
	threshold float64
	limits    Limits
	now       func() time.Time
}

// New builds a Service. ocr may be nil (the MRZ text must then come with
// each request); faces is required; threshold is the score at or above
// which two faces are taken for the same person.
func New(db *store.DB, auditLog *audit.Log, ocr OCR, faces FaceMatcher, threshold float64, limits Limits, now func() time.Time) *Service {
	return &Service{db: db, audit: auditLog, ocr: ocr, faces: faces, threshold: threshold, limits: limits, now: now}
}

// Limits returns the image limits, for the HTTP layer's body bound.
func (s *Service) Limits() Limits { return s.limits }

// ImageError is an image refused before decoding; Code is stable
// ("unsupported_type", "too_large", "too_many_pixels", "bad_image").
type ImageError struct {
	Part, Code, Message string
}

func (e *ImageError) Error() string { return e.Part + ": " + e.Message }

// CheckImage sniffs data and reads its header only: it returns the
// content type, or an *ImageError (wrapped in errs.Invalid) for anything
// but a JPEG or PNG within the limits. part names the image in messages.
func CheckImage(part string, data []byte, l Limits) (string, error) {
	fail := func(code, msg string) (string, error) {
		return "", errs.E(errs.Invalid, "kyc.CheckImage", part+": "+msg, &ImageError{Part: part, Code: code, Message: msg})
	}
	if len(data) == 0 {
		return fail("bad_image", "the image is empty")
	}
	if int64(len(data)) > l.MaxImageBytes {
		return fail("too_large", "the image is larger than "+strconv.FormatInt(l.MaxImageBytes, 10)+" bytes")
	}
	ct := http.DetectContentType(data)
	if ct != "image/jpeg" && ct != "image/png" {
		return fail("unsupported_type", "the image is "+ct+"; only image/jpeg and image/png are accepted")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png") {
		return fail("bad_image", "the image header cannot be read as "+ct)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > l.MaxImagePixels {
		return fail("too_many_pixels", fmt.Sprintf("the image is %dx%d pixels; at most %d pixels are accepted", cfg.Width, cfg.Height, l.MaxImagePixels))
	}
	return ct, nil
}

// Verify verifies one identity for principal p, which needs kyc.verify.
// It owns document and selfie: both are zeroed before it returns, on every
// path. Errors: errs.Forbidden without the permission; errs.Invalid for an
// image refused by CheckImage, a missing or malformed MRZ, an image without
// a face; errs.Unavailable when the OCR or the matcher cannot be reached.
// A well-formed request whose checks fail is not an error: it is a Result
// with Decision Rejected and the reasons.
func (s *Service) Verify(ctx context.Context, p authz.Principal, document, selfie []byte, opts Options) (Result, error) {
	const op = "kyc.Verify"
	defer clear(document)
	defer clear(selfie)
	start := s.now()
	if err := authz.Can(authz.WithPrincipal(ctx, p), authz.KYCVerify, authz.Resource{OrgID: p.OrgID}); err != nil {
		return Result{}, err
	}
	if _, err := CheckImage("document", document, s.limits); err != nil {
		return Result{}, err
	}
	if _, err := CheckImage("selfie", selfie, s.limits); err != nil {
		return Result{}, err
	}
	text := opts.MRZ
	if text == "" {
		if s.ocr == nil {
			return Result{}, errs.E(errs.Invalid, op, "mrz: this server has no OCR engine; send the machine-readable zone as the mrz field")
		}
		var err error
		if text, err = s.ocr.Extract(ctx, document); err != nil {
			return Result{}, err
		}
	}
	doc, err := mrz.Parse(text)
	var cde *mrz.CheckDigitError
	if err != nil && !errors.As(err, &cde) {
		// Syntax errors name a line, a position and at most one character
		// of the input: safe to return, and precise enough to fix.
		return Result{}, errs.E(errs.Invalid, op, err.Error())
	}
	res := Result{Document: doc, MRZValid: doc.Valid(), FaceThreshold: s.threshold, Matcher: s.faces.Name(), Reasons: []string{}}
	if !res.MRZValid {
		res.Reasons = append(res.Reasons, "mrz_check_digit")
	}
	if expiry, ok := expiryDate(doc.ExpiryDate); ok && expiry.Before(truncateDay(start)) {
		res.Expired = true
		res.Reasons = append(res.Reasons, "document_expired")
	}
	score, err := s.faces.Match(ctx, document, selfie)
	if err != nil {
		return Result{}, err
	}
	res.FaceScore = score
	res.FaceMatch = score >= s.threshold
	if !res.FaceMatch {
		res.Reasons = append(res.Reasons, "face_mismatch")
	}
	res.Decision = Verified
	if len(res.Reasons) > 0 {
		res.Decision = Rejected
	}
	if err := s.record(ctx, p, res); err != nil {
		return Result{}, err
	}
	res.ProcessingMS = s.now().Sub(start).Milliseconds()
	return res, nil
}

// record writes the one trace a verification leaves: who, when (the
// entry's time), decision, score, document type and issuing country.
func (s *Service) record(ctx context.Context, p authz.Principal, res Result) error {
	outcome := audit.Success
	if res.Decision != Verified {
		outcome = audit.Failure
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := s.audit.Append(ctx, tx, audit.Event{
			Org: p.OrgID, Actor: p.Kind + ":" + p.UserID, Action: "kyc.verify", Target: "kyc:verification", Outcome: outcome,
			Details: map[string]any{
				"decision":        res.Decision,
				"score":           float64(int(res.FaceScore*1000)) / 1000,
				"document_type":   res.Document.DocumentCode,
				"issuing_country": res.Document.IssuingState,
			},
		})
		return err
	})
}

// expiryDate reads a YYMMDD expiry date; expiry dates are in 2000-2099
// (documents valid today were issued this century).
func expiryDate(s string) (time.Time, bool) {
	t, err := time.Parse("060102", s)
	if err != nil {
		return time.Time{}, false
	}
	if t.Year() < 2000 {
		t = t.AddDate(100, 0, 0)
	}
	return t, true
}

func truncateDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
