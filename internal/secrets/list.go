package secrets

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// List returns a page of the organization's secrets, oldest first, as
// metadata only (secrets.manage). Status filters by StatusActive,
// StatusExpired or StatusRevoked. Errors: errs.Invalid for a bad limit,
// cursor or status; errs.Forbidden.
func (s *Service) List(ctx context.Context, p authz.Principal, opts ListOptions) (Page, error) {
	const op = "secrets.List"
	if err := can(ctx, p, authz.SecretsManage); err != nil {
		return Page{}, err
	}
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, errs.E(errs.Invalid, op, fmt.Sprintf("limit must be between 1 and %d, not %d", MaxLimit, opts.Limit))
	}
	now := s.now()
	// The ciphertext is not even read: a listing is metadata only.
	q := "SELECT " + strings.Replace(rowColumns, "ciphertext", "NULL", 1) + " FROM secrets WHERE org_id = ?"
	args := []any{p.OrgID}
	switch opts.Status {
	case "":
	case StatusRevoked:
		q += " AND revoked_at IS NOT NULL"
	case StatusExpired:
		q += " AND revoked_at IS NULL AND expires_at <= ?"
		args = append(args, micros(now))
	case StatusActive:
		q += " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"
		args = append(args, micros(now))
	default:
		return Page{}, errs.E(errs.Invalid, op, "status must be active, expired or revoked")
	}
	if opts.Cursor != "" {
		c, err := store.DecodeCursor(op, opts.Cursor, validID)
		if err != nil {
			return Page{}, err
		}
		q += " AND (created_at > ? OR (created_at = ? AND id > ?))"
		args = append(args, c.CreatedAt, c.CreatedAt, c.ID)
	}
	q += " ORDER BY created_at, id LIMIT ?"
	args = append(args, limit+1)
	var rows []row
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, q, args...)
		if err != nil {
			return dbErr(op, err)
		}
		defer rs.Close()
		for rs.Next() {
			var r row
			if err := rs.Scan(r.scanArgs()...); err != nil {
				return dbErr(op, err)
			}
			rows = append(rows, r)
		}
		if err := rs.Err(); err != nil {
			return dbErr(op, err)
		}
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: make([]Secret, 0, min(len(rows), limit))}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = store.Cursor{CreatedAt: last.createdAt, ID: last.id}.Encode()
	}
	for _, r := range rows {
		page.Items = append(page.Items, r.secret(now))
	}
	return page, nil
}
