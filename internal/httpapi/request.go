package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
)

// decode reads a JSON body strictly: one object, known fields only, within
// the body limit. Errors name the problem (and the field, when known).
func decode(r *http.Request, v any) error {
	const op = "httpapi.decode"
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errs.E(errs.Invalid, op, "request body must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return errs.E(errs.Invalid, op, "request body is empty; a JSON object is required")
		case errors.As(err, &tooBig):
			return errs.E(errs.Invalid, op, "request body is too large")
		case errors.As(err, &syn):
			return errs.E(errs.Invalid, op, "request body is not valid JSON")
		case errors.As(err, &typ):
			return errs.E(errs.Invalid, op, "field "+typ.Field+": wrong type, expected "+typ.Type.String())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errs.E(errs.Invalid, op, "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errs.E(errs.Invalid, op, "request body could not be read")
	}
	if dec.More() {
		return errs.E(errs.Invalid, op, "request body must hold exactly one JSON object")
	}
	return nil
}

// meta is the request's origin, for the audit log. The peer address is
// used as is: Rampart terminates TLS itself, so there is no proxy header to
// trust.
func meta(r *http.Request) identity.Meta {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return identity.Meta{IP: host, UserAgent: ua}
}
