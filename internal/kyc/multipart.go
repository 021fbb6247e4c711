package kyc

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc/mrz"
)

// Submission is one request's images and MRZ text, held in memory only.
// Wipe zeroes the images; Verify does so too.
type Submission struct {
	Document, Selfie []byte
	MRZ              string
}

// Wipe zeroes both images.
func (s *Submission) Wipe() {
	clear(s.Document)
	clear(s.Selfie)
}

// TooLargeError is a request part over its limit (HTTP 413).
type TooLargeError struct {
	Part  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return e.Part + " is larger than this server's limit of " + strconv.FormatInt(e.Limit, 10) + " bytes (kyc.max_image_bytes)"
}

// BodyLimit is the largest multipart body ReadMultipart can need: two
// images, the MRZ text and room for part headers and boundaries.
func BodyLimit(l Limits) int64 { return 2*l.MaxImageBytes + 64<<10 }

// CheckMultipart refuses (errs.Invalid) a request that is not
// multipart/form-data, without reading its body.
func CheckMultipart(r *http.Request) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return errs.E(errs.Invalid, "kyc.ReadMultipart", "the body must be multipart/form-data with the parts document and selfie (and optionally mrz)")
	}
	return nil
}

// ReadMultipart reads the parts "document", "selfie" and optional "mrz"
// of a multipart/form-data request straight into bounded memory buffers.
// It never calls ParseMultipartForm, which writes large parts to temporary
// files. Errors: *TooLargeError for a part over its limit (or a body over
// the route's limit); errs.Invalid for anything else that is wrong. On
// error every buffer read so far is already zeroed.
func ReadMultipart(r *http.Request, l Limits) (sub Submission, err error) {
	const op = "kyc.ReadMultipart"
	defer func() {
		if err != nil {
			sub.Wipe()
			sub = Submission{}
		}
	}()
	if err := CheckMultipart(r); err != nil {
		return sub, err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return sub, errs.E(errs.Invalid, op, "the body must be multipart/form-data with the parts document and selfie (and optionally mrz)")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sub, bodyError(op, err, "request body")
		}
		name := part.FormName()
		switch name {
		case "document", "selfie":
			dst := &sub.Document
			if name == "selfie" {
				dst = &sub.Selfie
			}
			if *dst != nil {
				return sub, errs.E(errs.Invalid, op, "the part "+name+" is sent more than once")
			}
			if *dst, err = readBounded(part, name, l.MaxImageBytes); err != nil {
				return sub, err
			}
		case "mrz":
			if sub.MRZ != "" {
				return sub, errs.E(errs.Invalid, op, "the part mrz is sent more than once")
			}
			b, err := readBounded(part, "mrz", mrz.MaxInputSize)
			if err != nil {
				var tl *TooLargeError
				if errors.As(err, &tl) {
					return sub, errs.E(errs.Invalid, op, "mrz: the text is longer than "+strconv.Itoa(mrz.MaxInputSize)+" bytes")
				}
				return sub, err
			}
			sub.MRZ = string(b)
		default:
			return sub, errs.E(errs.Invalid, op, "unknown part "+strconv.Quote(truncate(name, 64))+"; expected document, selfie and optionally mrz")
		}
		_ = part.Close()
	}
	switch {
	case len(sub.Document) == 0:
		return sub, errs.E(errs.Invalid, op, "the part document (the identity document image) is missing or empty")
	case len(sub.Selfie) == 0:
		return sub, errs.E(errs.Invalid, op, "the part selfie is missing or empty")
	}
	return sub, nil
}

// readBounded reads at most limit bytes into a buffer it grows itself,
// zeroing each outgrown copy, so no stray copy of an image is left for the
// garbage collector to hand out unwiped.
func readBounded(r io.Reader, part string, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit+1, 64<<10))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				clear(buf)
				return nil, &TooLargeError{Part: part, Limit: limit}
			}
			bigger := make([]byte, len(buf), min(int64(cap(buf))*2, limit+1))
			copy(bigger, buf)
			clear(buf)
			buf = bigger
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if int64(len(buf)) > limit {
				clear(buf)
				return nil, &TooLargeError{Part: part, Limit: limit}
			}
			return buf, nil
		}
		if err != nil {
			clear(buf)
			return nil, bodyError("kyc.ReadMultipart", err, part)
		}
	}
}

func bodyError(op string, err error, part string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &TooLargeError{Part: "the request body", Limit: mbe.Limit}
	}
	return errs.E(errs.Invalid, op, "the multipart body is malformed ("+part+")")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
