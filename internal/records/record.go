package records

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// bodyAD is the associated data of a record body. The manager adds the
// organization, so the ciphertext is bound to org, collection, id and version.
func bodyAD(collection, id string, version int64) []byte {
	return keys.AssociatedData("records", collection, id, strconv.FormatInt(version, 10))
}

// validID reports whether id can name a record; other ids are NotFound.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// recordRow is a stored record before decryption.
type recordRow struct {
	id        string
	version   int64
	createdAt int64
	updatedAt int64
	createdBy string
	body      []byte
}

func loadRecord(ctx context.Context, tx *store.Tx, op, org, collection, id string) (recordRow, error) {
	r := recordRow{id: id}
	err := tx.QueryRow(ctx, "SELECT version, created_at, updated_at, created_by, body FROM records WHERE org_id = ? AND collection = ? AND id = ?",
		org, collection, id).Scan(&r.version, &r.createdAt, &r.updatedAt, &r.createdBy, &r.body)
	switch {
	case store.IsNoRows(err):
		return recordRow{}, errNoRecord(op)
	case err != nil:
		return recordRow{}, dbErr(op, err)
	}
	return r, nil
}

// open decrypts a stored record. errs.Integrity if the body was altered or
// moved from another row, version, collection or organization.
func (s *Service) open(ctx context.Context, org, collection string, r recordRow) (Record, error) {
	data, err := s.keys.Decrypt(ctx, org, r.body, bodyAD(collection, r.id, r.version))
	if err != nil {
		return Record{}, err
	}
	return Record{ID: r.id, Collection: collection, Version: r.version, CreatedAt: fromMicros(r.createdAt),
		UpdatedAt: fromMicros(r.updatedAt), CreatedBy: r.createdBy, Data: data}, nil
}

func checkVersion(op string, current, ifMatch int64) error {
	if ifMatch != 0 && ifMatch != current {
		return errs.E(errs.Precondition, op, fmt.Sprintf("record version is %d, not %d", current, ifMatch))
	}
	return nil
}

func auditDetails(collection, id string, version int64, obj map[string]any) map[string]any {
	d := map[string]any{"collection": collection, "id": id, "version": version}
	if obj != nil {
		d["fields"] = fieldNames(obj)
	}
	return d
}

// Create stores a new record (records.write) at version 1. data must be a
// JSON object of at most MaxDataSize bytes that satisfies the collection's
// schema. Errors: errs.Invalid (naming the schema violation), errs.NotFound
// for a missing collection, errs.Forbidden, errs.Unauthorized.
func (s *Service) Create(ctx context.Context, p authz.Principal, collection string, data json.RawMessage) (Record, error) {
	const op = "records.Create"
	if err := can(ctx, p, authz.RecordsWrite, collection); err != nil {
		return Record{}, err
	}
	if !validName(collection) {
		return Record{}, errNoCollection(op)
	}
	obj, err := parseObject(op, data)
	if err != nil {
		return Record{}, err
	}
	plain, err := encodeObject(op, obj)
	if err != nil {
		return Record{}, err
	}
	id := uuid.NewString()
	now := micros(s.now())
	// Encrypt before the write transaction: id and version are known, and
	// the single SQLite writer should not wait on cryptography.
	body, err := s.keys.Encrypt(ctx, p.OrgID, plain, bodyAD(collection, id, 1))
	if err != nil {
		return Record{}, err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := loadCollection(ctx, tx, op, p.OrgID, collection)
		if err != nil {
			return err
		}
		if err := s.validate(op, c, obj); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO records (org_id, collection, id, version, created_at, updated_at, created_by, body)
			VALUES (?, ?, ?, 1, ?, ?, ?, ?)`, p.OrgID, collection, id, now, now, actorOf(p), body); err != nil {
			return dbErr(op, err)
		}
		if err := s.writeIndex(ctx, tx, p.OrgID, c, id, obj); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, event(p, "record.create", "record:"+collection+"/"+id, auditDetails(collection, id, 1, obj)))
		return err
	})
	if err != nil {
		return Record{}, err
	}
	return Record{ID: id, Collection: collection, Version: 1, CreatedAt: fromMicros(now), UpdatedAt: fromMicros(now),
		CreatedBy: actorOf(p), Data: plain}, nil
}

// Get returns a record (records.read). Errors: errs.NotFound "no such
// record" for a record that does not exist in this organization and
// collection, errs.Integrity if its stored body was tampered with.
func (s *Service) Get(ctx context.Context, p authz.Principal, collection, id string) (Record, error) {
	const op = "records.Get"
	if err := can(ctx, p, authz.RecordsRead, collection); err != nil {
		return Record{}, err
	}
	if !validName(collection) || !validID(id) {
		return Record{}, errNoRecord(op)
	}
	var r recordRow
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		r, err = loadRecord(ctx, tx, op, p.OrgID, collection, id)
		return err
	})
	if err != nil {
		return Record{}, err
	}
	return s.open(ctx, p.OrgID, collection, r)
}

// Replace stores data as the record's new content (records.write).
// ifMatch 0 is unconditional; otherwise it must be the current version or
// the call fails with errs.Precondition. Other errors as Create and Get.
func (s *Service) Replace(ctx context.Context, p authz.Principal, collection, id string, data json.RawMessage, ifMatch int64) (Record, error) {
	const op = "records.Replace"
	obj, err := parseObject(op, data)
	if err != nil {
		if e := s.precheck(ctx, p, op, collection, id); e != nil {
			return Record{}, e
		}
		return Record{}, err
	}
	return s.update(ctx, p, op, "record.replace", collection, id, ifMatch, func(map[string]any) (map[string]any, error) { return obj, nil })
}

// Patch applies an RFC 7386 JSON merge patch to the record (records.write):
// members set to null are removed, objects merge recursively, anything
// else replaces. The result must still satisfy the schema. ifMatch as Replace.
func (s *Service) Patch(ctx context.Context, p authz.Principal, collection, id string, patch json.RawMessage, ifMatch int64) (Record, error) {
	const op = "records.Patch"
	pobj, err := parseObject(op, patch)
	if err != nil {
		if e := s.precheck(ctx, p, op, collection, id); e != nil {
			return Record{}, e
		}
		return Record{}, err
	}
	return s.update(ctx, p, op, "record.patch", collection, id, ifMatch, func(cur map[string]any) (map[string]any, error) {
		return mergePatch(cur, pobj).(map[string]any), nil
	})
}

// precheck answers permission and shape errors before input errors, so an
// invalid body does not reveal more than a valid one would.
func (s *Service) precheck(ctx context.Context, p authz.Principal, op, collection, id string) error {
	if err := can(ctx, p, authz.RecordsWrite, collection); err != nil {
		return err
	}
	if !validName(collection) || !validID(id) {
		return errNoRecord(op)
	}
	return nil
}

// update is Replace and Patch: change computes the new content from the
// current one inside the write transaction.
func (s *Service) update(ctx context.Context, p authz.Principal, op, action, collection, id string, ifMatch int64,
	change func(cur map[string]any) (map[string]any, error)) (Record, error) {
	if err := s.precheck(ctx, p, op, collection, id); err != nil {
		return Record{}, err
	}
	var out Record
	err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := loadCollection(ctx, tx, op, p.OrgID, collection)
		if err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return errNoRecord(op)
			}
			return err
		}
		r, err := loadRecord(ctx, tx, op, p.OrgID, collection, id)
		if err != nil {
			return err
		}
		if err := checkVersion(op, r.version, ifMatch); err != nil {
			return err
		}
		// Decrypt the current body even for Replace: a tampered record is
		// reported, not silently overwritten, and Patch needs its content.
		cur, err := s.open(ctx, p.OrgID, collection, r)
		if err != nil {
			return err
		}
		curObj, err := parseObject(op, cur.Data)
		if err != nil {
			return errs.E(errs.Integrity, op, "stored record is not a JSON object", err)
		}
		obj, err := change(curObj)
		if err != nil {
			return err
		}
		if err := s.validate(op, c, obj); err != nil {
			return err
		}
		plain, err := encodeObject(op, obj)
		if err != nil {
			return err
		}
		version := r.version + 1
		body, err := s.keys.Encrypt(ctx, p.OrgID, plain, bodyAD(collection, id, version))
		if err != nil {
			return err
		}
		now := micros(s.now())
		res, err := tx.Exec(ctx, "UPDATE records SET version = ?, updated_at = ?, body = ? WHERE org_id = ? AND collection = ? AND id = ? AND version = ?",
			version, now, body, p.OrgID, collection, id, r.version)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(op, err)
		} else if n != 1 {
			// A concurrent writer changed the record between our read and
			// this update.
			return errs.E(errs.Precondition, op, "record was changed concurrently; retry")
		}
		if err := s.writeIndex(ctx, tx, p.OrgID, c, id, obj); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, event(p, action, "record:"+collection+"/"+id, auditDetails(collection, id, version, obj))); err != nil {
			return err
		}
		out = Record{ID: id, Collection: collection, Version: version, CreatedAt: fromMicros(r.createdAt), UpdatedAt: fromMicros(now),
			CreatedBy: r.createdBy, Data: plain}
		return nil
	})
	if err != nil {
		return Record{}, err
	}
	return out, nil
}

// Delete removes a record and its index entries (records.write). ifMatch
// as Replace. Errors: errs.NotFound, errs.Precondition, errs.Forbidden.
func (s *Service) Delete(ctx context.Context, p authz.Principal, collection, id string, ifMatch int64) error {
	const op = "records.Delete"
	if err := s.precheck(ctx, p, op, collection, id); err != nil {
		return err
	}
	// What the delete hooks leave for after the commit runs here, in the
	// caller's goroutine: it may write (SQLite's single writer runs the
	// commit hooks and would wait on itself).
	var afters []func()
	err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		afters = afters[:0]
		r, err := loadRecord(ctx, tx, op, p.OrgID, collection, id)
		if err != nil {
			return err
		}
		if err := checkVersion(op, r.version, ifMatch); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM records WHERE org_id = ? AND collection = ? AND id = ?", p.OrgID, collection, id); err != nil {
			return dbErr(op, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM record_index WHERE org_id = ? AND collection = ? AND record_id = ?", p.OrgID, collection, id); err != nil {
			return dbErr(op, err)
		}
		if _, err = s.audit.Append(ctx, tx, event(p, "record.delete", "record:"+collection+"/"+id, auditDetails(collection, id, r.version, nil))); err != nil {
			return err
		}
		for _, h := range s.onDelete {
			after, err := h(ctx, tx, p, collection, id)
			if err != nil {
				return err
			}
			if after != nil {
				afters = append(afters, after)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, after := range afters {
		after()
	}
	return nil
}
