package records

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// List returns a page of a collection's records, oldest first
// (records.read). Where filters by exact value of indexed fields (string,
// or number in any spelling) through their blind indexes. Errors:
// errs.Invalid for a bad limit, cursor or a where on a field that is not
// indexed; errs.NotFound for a missing collection; errs.Integrity if a
// stored record was tampered with.
func (s *Service) List(ctx context.Context, p authz.Principal, collection string, opts ListOptions) (Page, error) {
	const op = "records.List"
	if err := can(ctx, p, authz.RecordsRead, collection); err != nil {
		return Page{}, err
	}
	if !validName(collection) {
		return Page{}, errNoCollection(op)
	}
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, errs.E(errs.Invalid, op, fmt.Sprintf("limit must be between 1 and %d, not %d", MaxLimit, opts.Limit))
	}
	var after *store.Cursor
	if opts.Cursor != "" {
		c, err := store.DecodeCursor(op, opts.Cursor, validID)
		if err != nil {
			return Page{}, err
		}
		after = &c
	}
	var rows []recordRow
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := loadCollection(ctx, tx, op, p.OrgID, collection)
		if err != nil {
			return err
		}
		q := "SELECT id, version, created_at, updated_at, created_by, body FROM records WHERE org_id = ? AND collection = ?"
		args := []any{p.OrgID, collection}
		if len(opts.Where) > 0 {
			fields := make([]string, 0, len(opts.Where))
			for f := range opts.Where {
				if !slices.Contains(c.indexed, f) {
					return errs.E(errs.Invalid, op, fmt.Sprintf("field %q is not an indexed field of this collection", f))
				}
				fields = append(fields, f)
			}
			slices.Sort(fields)
			key, err := s.indexKey(ctx, tx, p.OrgID, false)
			if err != nil {
				return err
			}
			if key == nil {
				return nil // nothing was ever indexed in this organization
			}
			for _, f := range fields {
				toks := queryTokens(key, collection, f, opts.Where[f])
				q += " AND id IN (SELECT record_id FROM record_index WHERE org_id = ? AND collection = ? AND field = ? AND token IN (?" + strings.Repeat(", ?", len(toks)-1) + "))"
				args = append(args, p.OrgID, collection, f)
				for _, t := range toks {
					args = append(args, t)
				}
			}
		}
		if after != nil {
			q += " AND (created_at > ? OR (created_at = ? AND id > ?))"
			args = append(args, after.CreatedAt, after.CreatedAt, after.ID)
		}
		q += " ORDER BY created_at, id LIMIT ?"
		args = append(args, limit+1)
		rs, err := tx.Query(ctx, q, args...)
		if err != nil {
			return dbErr(op, err)
		}
		defer rs.Close()
		for rs.Next() {
			var r recordRow
			if err := rs.Scan(&r.id, &r.version, &r.createdAt, &r.updatedAt, &r.createdBy, &r.body); err != nil {
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
	page := Page{Items: make([]Record, 0, min(len(rows), limit))}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = store.Cursor{CreatedAt: last.createdAt, ID: last.id}.Encode()
	}
	for _, r := range rows {
		rec, err := s.open(ctx, p.OrgID, collection, r)
		if err != nil {
			return Page{}, err
		}
		page.Items = append(page.Items, rec)
	}
	return page, nil
}
