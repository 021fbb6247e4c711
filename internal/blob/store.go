package blob

import (
	"context"
	"strconv"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/errs"
)

// MaxPartBytes bounds one stored part (ciphertext): Get refuses a larger
// object, so a planted object cannot make the server allocate without limit.
const MaxPartBytes = 16 << 20

// The names of the stores, as written in files.store and in each file's row.
const (
	KindDatabase = "database"
	KindS3       = "s3"
)

// Store keeps file parts. Implementations are safe for concurrent use.
type Store interface {
	// Kind names the store ("database", "s3"); it is recorded with each file
	// so the file is read back from where it was written.
	Kind() string
	// Put stores part index of the file, replacing any part stored there.
	// Errors: errs.Unavailable when the backend cannot be reached.
	Put(ctx context.Context, org, file string, index int64, data []byte) error
	// Get returns part index of the file. Errors: errs.NotFound when there
	// is no such part, errs.Integrity when it is larger than MaxPartBytes,
	// errs.Unavailable when the backend cannot be reached.
	Get(ctx context.Context, org, file string, index int64) ([]byte, error)
	// Delete removes every part of the file; deleting nothing is not an
	// error. Errors: errs.Unavailable.
	Delete(ctx context.Context, org, file string) error
	// DeleteOrg removes every part of every file of the organization.
	// Errors: errs.Unavailable.
	DeleteOrg(ctx context.Context, org string) error
}

// checkAddress refuses names that could escape their place in a key (an
// S3 object name is a path): a file is a UUID, an organization id is made
// of letters, digits, '-' and '_' only.
func checkAddress(op, org, file string, index int64) error {
	if !isOrgID(org) || (file != "" && !isUUID(file)) || index < 0 {
		return errs.E(errs.Invalid, op, "invalid blob address")
	}
	return nil
}

func isUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

func isOrgID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// partName is the zero-padded index, so object listings sort in part order.
func partName(index int64) string {
	s := strconv.FormatInt(index, 10)
	const width = 12
	if len(s) < width {
		s = "000000000000"[:width-len(s)] + s
	}
	return s
}
