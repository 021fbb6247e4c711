package store

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Cursor is the position after the last row of a page in keyset
// pagination on (created_at, id): stable while rows are added or deleted,
// unlike an offset. Listings of records, files and secrets share it.
type Cursor struct {
	CreatedAt int64 // unix microseconds
	ID        string
}

// Encode returns the opaque form handed to clients.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt, 10) + ":" + c.ID))
}

// DecodeCursor reads a cursor made by Encode; validID checks the id part
// (each listing knows what its ids look like). Anything else is
// errs.Invalid, the same for every malformed input.
func DecodeCursor(op, s string, validID func(string) bool) (Cursor, error) {
	bad := errs.E(errs.Invalid, op, "cursor is not one this server issued")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	at, id, ok := strings.Cut(string(raw), ":")
	if !ok || !validID(id) {
		return Cursor{}, bad
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return Cursor{}, bad
	}
	return Cursor{CreatedAt: n, ID: id}, nil
}
