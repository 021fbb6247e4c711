package files

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// cleanupTimeout bounds one removal done after the request that caused it.
const cleanupTimeout = 10 * time.Minute

// Delete removes a file (files.write on its collection). The file is gone
// for readers when Delete returns; its parts are removed before it returns
// too, unless the blob store fails, in which case CleanupIncomplete finishes
// the job. Errors: errs.NotFound, errs.Forbidden.
func (s *Service) Delete(ctx context.Context, p authz.Principal, id string) error {
	const op = "files.Delete"
	if err := mayAny(p, authz.FilesWrite); err != nil {
		return err
	}
	if !validID(id) {
		return errNoFile(op)
	}
	var r fileRow
	err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if r, err = loadComplete(ctx, tx, op, p.OrgID, id); err != nil {
			return err
		}
		if err := can(ctx, p, authz.FilesWrite, r.collection); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE files SET state = ? WHERE org_id = ? AND id = ?", stateDeleting, p.OrgID, id); err != nil {
			return dbErr(op, err)
		}
		details := map[string]any{"id": id, "size": r.size, "parts": r.parts, "store": r.store}
		if r.collection != "" {
			details["collection"], details["record"] = r.collection, r.record
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Org: p.OrgID, Actor: actorOf(p), Action: "file.delete", Target: "file:" + id,
			Outcome: audit.Success, Details: details})
		return err
	})
	if err != nil {
		return err
	}
	// The deletion is committed and audited; removing the parts is
	// housekeeping that must not depend on the client waiting for it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = s.removeFile(rctx, p.OrgID, id, s.stores[r.store])
	return nil
}

// DeleteAttached is the records service's delete hook: inside the
// transaction that deletes a record, every file attached to it is marked
// deleted and audited (file.delete, reason "record deleted"); the returned
// function removes their parts after the commit (a crash in between is
// finished by the janitor, like an interrupted Delete). Deleting the
// record is the authority: no files.write is asked for.
func (s *Service) DeleteAttached(ctx context.Context, tx *store.Tx, p authz.Principal, collection, record string) (func(), error) {
	const op = "files.DeleteAttached"
	type doomed struct {
		id, store   string
		size, parts int64
	}
	var files []doomed
	rows, err := tx.Query(ctx, "SELECT id, store, size, parts FROM files WHERE org_id = ? AND collection = ? AND record_id = ? AND state = ?",
		p.OrgID, collection, record, stateComplete)
	if err != nil {
		return nil, dbErr(op, err)
	}
	for rows.Next() {
		var f doomed
		if err := rows.Scan(&f.id, &f.store, &f.size, &f.parts); err != nil {
			_ = rows.Close()
			return nil, dbErr(op, err)
		}
		files = append(files, f)
	}
	if err := rows.Close(); err != nil {
		return nil, dbErr(op, err)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	for _, f := range files {
		if _, err := tx.Exec(ctx, "UPDATE files SET state = ? WHERE org_id = ? AND id = ?", stateDeleting, p.OrgID, f.id); err != nil {
			return nil, dbErr(op, err)
		}
		if _, err := s.audit.Append(ctx, tx, audit.Event{Org: p.OrgID, Actor: actorOf(p), Action: "file.delete", Target: "file:" + f.id,
			Outcome: audit.Success, Details: map[string]any{"id": f.id, "size": f.size, "parts": f.parts, "store": f.store,
				"collection": collection, "record": record, "reason": "record deleted"}}); err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		for _, f := range files {
			// A failure leaves the row in state deleting: invisible, and
			// finished by the janitor.
			_ = s.removeFile(rctx, p.OrgID, f.id, s.stores[f.store])
		}
	}, nil
}

// removeFile deletes a file's parts, then its row.
func (s *Service) removeFile(ctx context.Context, org, id string, st blob.Store) error {
	const op = "files.remove"
	if st == nil {
		return errs.E(errs.Unavailable, op, "the file's store is not configured")
	}
	if err := st.Delete(ctx, org, id); err != nil {
		return err
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM files WHERE org_id = ? AND id = ? AND state <> ?", org, id, stateComplete); err != nil {
			return dbErr(op, err)
		}
		return nil
	})
}

// CleanupIncomplete removes uploads that started before now-olderThan and
// never completed (a crash, a lost connection whose cleanup failed) and
// finishes deletions whose parts could not all be removed: up to
// cleanupBatch files per call. It returns how many files it removed and
// the first failure; a file that cannot be removed does not stop the
// others. Safe to run on several nodes at once.
func (s *Service) CleanupIncomplete(ctx context.Context, olderThan time.Duration) (int, error) {
	const op = "files.CleanupIncomplete"
	cutoff := s.now().Add(-olderThan).UnixMicro()
	type victim struct{ org, id, store string }
	var batch []victim
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT org_id, id, store FROM files
			WHERE (state = ? AND created_at < ?) OR state = ? ORDER BY created_at LIMIT ?`, stateUploading, cutoff, stateDeleting, cleanupBatch)
		if err != nil {
			return dbErr(op, err)
		}
		defer rows.Close()
		for rows.Next() {
			var v victim
			if err := rows.Scan(&v.org, &v.id, &v.store); err != nil {
				return dbErr(op, err)
			}
			batch = append(batch, v)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	var first error
	for _, v := range batch {
		// Mark first, so a slow upload cannot complete under us (its final
		// update requires the state "uploading").
		err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE files SET state = ? WHERE org_id = ? AND id = ? AND state <> ?", stateDeleting, v.org, v.id, stateComplete)
			return err
		})
		if err != nil {
			err = dbErr(op, err)
		} else {
			err = s.removeFile(ctx, v.org, v.id, s.stores[v.store])
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		removed++
	}
	return removed, first
}

// cleanupBatch bounds the files one CleanupIncomplete call removes.
const cleanupBatch = 1000

// RunJanitor calls CleanupIncomplete every interval until ctx ends,
// logging what it removed and what failed.
func (s *Service) RunJanitor(ctx context.Context, every, olderThan time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.CleanupIncomplete(ctx, olderThan)
		if err != nil && ctx.Err() == nil {
			log.Warn("file cleanup failed; retrying at the next run", "err", err)
		}
		if n > 0 {
			log.Info("removed abandoned uploads and finished deletions", "files", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PurgeOrg deletes every file of the organization, with its parts in every
// configured store (S3 objects under the organization's prefix) and its
// rows. It writes no audit entry: organization deletion, its only caller,
// records one for the whole organization. Errors: errs.Unavailable.
func (s *Service) PurgeOrg(ctx context.Context, org string) error {
	const op = "files.PurgeOrg"
	if err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE files SET state = ? WHERE org_id = ?", stateDeleting, org)
		return err
	}); err != nil {
		return dbErr(op, err)
	}
	for _, st := range s.stores {
		if err := st.DeleteOrg(ctx, org); err != nil {
			return err
		}
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM files WHERE org_id = ?", org); err != nil {
			return dbErr(op, err)
		}
		return nil
	})
}

// List returns a page of the organization's files, oldest first: with
// opts.Collection, the files attached to that collection's records
// (files.read on it); without, every file (files.read on every
// collection). Errors: errs.Invalid for a bad limit or cursor,
// errs.Forbidden, errs.Integrity if a listed file's metadata was tampered
// with.
func (s *Service) List(ctx context.Context, p authz.Principal, opts ListOptions) (Page, error) {
	const op = "files.List"
	if err := can(ctx, p, authz.FilesRead, opts.Collection); err != nil {
		return Page{}, err
	}
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, errs.E(errs.Invalid, op, "limit: must be a number from 1 to "+strconv.Itoa(MaxLimit))
	}
	q := "SELECT " + rowColumns + " FROM files WHERE org_id = ? AND state = ?"
	args := []any{p.OrgID, stateComplete}
	if opts.Collection != "" {
		q += " AND collection = ?"
		args = append(args, opts.Collection)
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
	var rows []fileRow
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, q, args...)
		if err != nil {
			return dbErr(op, err)
		}
		defer rs.Close()
		for rs.Next() {
			r, err := scanRow(rs)
			if err != nil {
				return dbErr(op, err)
			}
			rows = append(rows, r)
		}
		return rs.Err()
	})
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: []File{}}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = store.Cursor{CreatedAt: last.createdAt, ID: last.id}.Encode()
	}
	for _, r := range rows {
		f, _, err := s.open(ctx, op, p.OrgID, r)
		if err != nil {
			return Page{}, err
		}
		page.Items = append(page.Items, f)
	}
	return page, nil
}
