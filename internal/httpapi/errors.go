package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/perimeter"
)

// statusOf maps error kinds to HTTP statuses.
var statusOf = map[errs.Kind]int{
	errs.Other:         http.StatusInternalServerError,
	errs.Invalid:       http.StatusBadRequest,
	errs.NotFound:      http.StatusNotFound,
	errs.Exists:        http.StatusConflict,
	errs.Conflict:      http.StatusConflict,
	errs.Precondition:  http.StatusPreconditionFailed,
	errs.Unauthorized:  http.StatusUnauthorized,
	errs.Forbidden:     http.StatusForbidden,
	errs.RateLimited:   http.StatusTooManyRequests,
	errs.Unavailable:   http.StatusServiceUnavailable,
	errs.Integrity:     http.StatusInternalServerError,
	errs.Shredded:      http.StatusGone,
	errs.Unprocessable: http.StatusUnprocessableEntity,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

// writeError answers with err's status and safe message. Internal errors
// (and integrity failures, whose details help an attacker) get a generic
// message; their cause is logged with the request id.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	kind := errs.KindOf(err)
	status, ok := statusOf[kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	rid := perimeter.RequestIDFrom(r.Context())
	msg := errs.SafeMessage(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "kind", kind.String(), "err", err)
		if kind == errs.Other || kind == errs.Integrity {
			msg = "an internal error occurred; quote the request id when reporting it"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	body := ErrorBody{Error: ErrorDetail{Code: kind.String(), Message: msg, RequestID: rid}}
	if v := password.Violations(err); len(v) > 0 {
		body.Error.Code = "password_policy"
		body.Error.Details = map[string]any{"violations": v}
	}
	if kind == errs.RateLimited {
		if n := identity.RetryAfter(err); n > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(n))
		}
	}
	if kind == errs.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rampart"`)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
