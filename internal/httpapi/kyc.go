package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc"
	"github.com/rampart-platform/rampart/internal/perimeter"
)

// kycLimit is the body limit of POST /api/v1/kyc/verifications: two images
// and the MRZ text; without a KYC service, the default.
func (a *api) kycLimit() int64 {
	if a.kyc == nil {
		return maxBody
	}
	return kyc.BodyLimit(a.kyc.Limits())
}

// verifyIdentity is POST /api/v1/kyc/verifications (FEATURES K1-K5): the
// multipart parts are streamed into bounded memory buffers (never
// ParseMultipartForm, which spills to temporary files), verified, and
// zeroed; the answer carries the outcome and nothing is stored but the
// audit entry.
func (a *api) verifyIdentity(w http.ResponseWriter, r *http.Request) {
	// A body that can never be right is a 400 even where the service is off.
	if err := kyc.CheckMultipart(r); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.kyc == nil {
		a.fail(w, r, errs.E(errs.Unavailable, "httpapi.kyc", "identity verification is not enabled on this server (kyc.matcher)"))
		return
	}
	serveKYC(a.kyc, authOf(r.Context()).Principal, w, r, a.fail)
}

// KYCHandler serves verifications outside the public API: the internal
// verification service (rampart kyc-service) behind the API gateway.
// principalOf authenticates the request (the gateway's signed identity
// assertion); its error is answered as is. The body is limited by the
// caller (kyc.BodyLimit).
func KYCHandler(svc *kyc.Service, log *slog.Logger, principalOf func(*http.Request) (authz.Principal, error)) http.Handler {
	fail := func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, log, err) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := principalOf(r)
		if err != nil {
			fail(w, r, err)
			return
		}
		serveKYC(svc, p, w, r, fail)
	})
}

func serveKYC(svc *kyc.Service, p authz.Principal, w http.ResponseWriter, r *http.Request, fail func(http.ResponseWriter, *http.Request, error)) {
	sub, err := kyc.ReadMultipart(r, svc.Limits())
	defer sub.Wipe()
	if err != nil {
		var tl *kyc.TooLargeError
		if errors.As(err, &tl) {
			w.Header().Set("Connection", "close")
			writeJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{Error: ErrorDetail{
				Code: "too_large", Message: tl.Error(), RequestID: perimeter.RequestIDFrom(r.Context()),
			}})
			return
		}
		fail(w, r, err)
		return
	}
	res, err := svc.Verify(r.Context(), p, sub.Document, sub.Selfie, kyc.Options{MRZ: sub.MRZ})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, res)
}

// The OpenAPI entries of the verification route, referenced from
// operationDocs and openAPISchemas.

func verifyIdentityDoc() opDoc {
	return opDoc{
		id: "verifyIdentity", tag: tagKYC, summary: "Verify an identity document against a selfie",
		description: "Send `multipart/form-data` with the parts `document` (the identity document's image) and `selfie`, " +
			"JPEG or PNG (the type is sniffed from the bytes; the part's Content-Type is ignored), each within " +
			"kyc.max_image_bytes and kyc.max_image_pixels, and optionally `mrz`, the machine-readable zone as text " +
			"(required when the server has no OCR engine). The server parses the MRZ (ICAO 9303 TD1, TD2, TD3) and " +
			"validates every check digit, compares the two faces and answers the outcome. Nothing is stored: the " +
			"images are held in memory only and wiped after the answer; the audit log records who, when, the " +
			"decision, the score, the document type and the issuing country, nothing else. A rejected verification " +
			"(bad check digit, expired document, faces that do not match) is a 200 with `decision` `rejected` and " +
			"its reasons; a malformed MRZ, an image that is not a JPEG/PNG, has too many pixels or holds no face is a 400.",
		permissions: []authz.Permission{authz.KYCVerify},
		bodyContent: map[string]*oaSchema{
			"multipart/form-data": oaObject("The two images and the optional MRZ text.", oaProps{
				"document": {Type: "string", ContentMediaType: "application/octet-stream", Description: "The identity document's image (JPEG or PNG)."},
				"selfie":   {Type: "string", ContentMediaType: "application/octet-stream", Description: "A photo of the holder's face (JPEG or PNG)."},
				"mrz":      oaString("The machine-readable zone, one MRZ line per text line (at most 512 bytes)."),
			}, "document", "selfie"),
		},
		answers: []opAnswer{
			oaOK(200, "The outcome; never stored.", oaRef("KYCResult")),
			{status: 413, description: "An image is larger than kyc.max_image_bytes; code `too_large`.", body: oaRef("Error")},
		},
	}
}

func kycSchemas() map[string]*oaSchema {
	num := func(desc string) *oaSchema { return &oaSchema{Type: "number", Description: desc} }
	integer := func(desc string) *oaSchema { return &oaSchema{Type: "integer", Description: desc} }
	check := oaObject("One check digit.", oaProps{
		"field":    oaEnum("The field it protects.", "document number", "birth date", "expiry date", "optional data", "personal number", "composite"),
		"line":     integer("1-based line of the check digit."),
		"position": integer("1-based position of the check digit in its line."),
		"expected": oaString("The digit the data computes to ('<' for an empty field)."),
		"got":      oaString("The digit in the MRZ."),
		"valid":    oaBool(""),
	}, "field", "line", "position", "expected", "got", "valid")
	return map[string]*oaSchema{
		"KYCResult": oaObject("The outcome of one verification.", oaProps{
			"decision":       oaEnum("verified only when every check digit is valid, the document has not expired and the faces match.", "verified", "rejected"),
			"reasons":        oaArray(oaEnum("", "mrz_check_digit", "document_expired", "face_mismatch"), "Why a verification was rejected; empty when verified."),
			"document":       oaRef("MRZDocument"),
			"mrz_valid":      oaBool("Every check digit matched."),
			"expired":        oaBool("The expiry date is in the past."),
			"face_score":     num("Face similarity in [0, 1]."),
			"face_threshold": num("The score at or above which the faces match (kyc.face_threshold)."),
			"face_match":     oaBool(""),
			"matcher":        oaString("Which face matcher answered (embedded:face-api, remote:<host>)."),
			"processing_ms":  integer("Time spent on the verification, in milliseconds."),
		}, "decision", "reasons", "document", "mrz_valid", "expired", "face_score", "face_threshold", "face_match", "matcher", "processing_ms"),
		"MRZDocument": oaObject("The fields of the machine-readable zone, as written (dates YYMMDD).", oaProps{
			"format":          oaEnum("", "TD1", "TD2", "TD3"),
			"document_code":   oaString("P (passport), I/ID/A/C (identity cards), V (visa) ..."),
			"issuing_state":   oaString("ICAO 3-letter code (D for Germany)."),
			"document_number": oaString(""),
			"surname":         oaString(""),
			"given_names":     oaString("Space separated."),
			"nationality":     oaString(""),
			"birth_date":      oaString("YYMMDD."),
			"sex":             oaEnum("", "M", "F", "X"),
			"expiry_date":     oaString("YYMMDD."),
			"optional_data":   oaString("Optional data (TD3: personal number), fillers removed."),
			"optional_data_2": oaString("TD1 only: the optional data of line 2."),
			"checks":          oaArray(check, "Every check digit the format defines."),
		}, "format", "document_code", "issuing_state", "document_number", "surname", "given_names", "nationality", "birth_date", "sex", "expiry_date", "optional_data", "checks"),
	}
}
