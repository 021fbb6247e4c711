package records

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

var (
	collectionName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	fieldName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// collectionRow is a collection as the record operations need it.
type collectionRow struct {
	name      string
	schema    string
	indexed   []string
	createdAt int64
	createdBy string
}

func (c collectionRow) public() Collection {
	out := Collection{Name: c.name, IndexedFields: c.indexed, CreatedAt: fromMicros(c.createdAt), CreatedBy: c.createdBy}
	if c.schema != "" {
		out.Schema = json.RawMessage(c.schema)
	}
	return out
}

// loadCollection reads a collection of org; errs.NotFound if there is none.
func loadCollection(ctx context.Context, tx *store.Tx, op, org, name string) (collectionRow, error) {
	c := collectionRow{name: name}
	var fields string
	err := tx.QueryRow(ctx, "SELECT schema, indexed_fields, created_at, created_by FROM record_collections WHERE org_id = ? AND name = ?", org, name).
		Scan(&c.schema, &fields, &c.createdAt, &c.createdBy)
	switch {
	case store.IsNoRows(err):
		return collectionRow{}, errNoCollection(op)
	case err != nil:
		return collectionRow{}, dbErr(op, err)
	}
	if err := json.Unmarshal([]byte(fields), &c.indexed); err != nil {
		return collectionRow{}, errs.E(errs.Integrity, op, "stored collection is corrupt", err)
	}
	if c.indexed == nil {
		c.indexed = []string{}
	}
	return c, nil
}

// validName reports whether name can be a collection; lookups of names
// that cannot exist answer NotFound without a query.
func validName(name string) bool { return collectionName.MatchString(name) }

// CreateCollection creates a collection (collections.manage). Errors:
// errs.Invalid naming the bad part of spec, errs.Exists if the name is
// taken, errs.Forbidden, errs.Unauthorized.
func (s *Service) CreateCollection(ctx context.Context, p authz.Principal, spec CollectionSpec) (Collection, error) {
	const op = "records.CreateCollection"
	if err := can(ctx, p, authz.CollectionsManage, spec.Name); err != nil {
		return Collection{}, err
	}
	if !validName(spec.Name) {
		return Collection{}, errs.E(errs.Invalid, op, fmt.Sprintf("collection name %q must match %s", spec.Name, collectionName))
	}
	if len(spec.IndexedFields) > MaxIndexedFields {
		return Collection{}, errs.E(errs.Invalid, op, fmt.Sprintf("at most %d indexed fields, not %d", MaxIndexedFields, len(spec.IndexedFields)))
	}
	indexed := []string{}
	for _, f := range spec.IndexedFields {
		if !fieldName.MatchString(f) {
			return Collection{}, errs.E(errs.Invalid, op, fmt.Sprintf("indexed field %q must match %s", f, fieldName))
		}
		if slices.Contains(indexed, f) {
			return Collection{}, errs.E(errs.Invalid, op, fmt.Sprintf("indexed field %q is listed twice", f))
		}
		indexed = append(indexed, f)
	}
	schema := ""
	if len(spec.Schema) > 0 && string(spec.Schema) != "null" {
		if _, err := s.compileSchema(op, spec.Schema); err != nil {
			return Collection{}, err
		}
		buf, err := compactJSON(spec.Schema)
		if err != nil {
			return Collection{}, errs.E(errs.Invalid, op, "schema is not valid JSON")
		}
		schema = string(buf)
	}
	fieldsJSON, _ := json.Marshal(indexed)
	c := collectionRow{name: spec.Name, schema: schema, indexed: indexed, createdAt: micros(s.now()), createdBy: actorOf(p)}
	err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO record_collections (org_id, name, schema, indexed_fields, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, name) DO NOTHING`,
			p.OrgID, c.name, c.schema, string(fieldsJSON), c.createdAt, c.createdBy)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(op, err)
		} else if n == 0 {
			return errs.E(errs.Exists, op, "a collection with this name already exists")
		}
		_, err = s.audit.Append(ctx, tx, event(p, "collection.create", "collection:"+c.name,
			map[string]any{"collection": c.name, "indexed_fields": indexed, "has_schema": schema != ""}))
		return err
	})
	if err != nil {
		return Collection{}, err
	}
	return c.public(), nil
}

// GetCollection returns a collection to a principal that may read its
// records or manage collections. errs.NotFound if there is no such
// collection in the principal's organization.
func (s *Service) GetCollection(ctx context.Context, p authz.Principal, name string) (Collection, error) {
	const op = "records.GetCollection"
	if err := can(ctx, p, authz.RecordsRead, name); err != nil {
		if errs.KindOf(err) != errs.Forbidden {
			return Collection{}, err
		}
		if err := can(ctx, p, authz.CollectionsManage, name); err != nil {
			return Collection{}, err
		}
	}
	if !validName(name) {
		return Collection{}, errNoCollection(op)
	}
	var c collectionRow
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		c, err = loadCollection(ctx, tx, op, p.OrgID, name)
		return err
	})
	if err != nil {
		return Collection{}, err
	}
	return c.public(), nil
}

// ListCollections returns, by name, the collections of the principal's
// organization that it may manage (all of them, with collections.manage)
// or whose records it may read. It is empty, not an error, when there are none.
func (s *Service) ListCollections(ctx context.Context, p authz.Principal) ([]Collection, error) {
	const op = "records.ListCollections"
	manage := can(ctx, p, authz.CollectionsManage, "")
	if manage != nil && errs.KindOf(manage) != errs.Forbidden {
		return nil, manage
	}
	var all []collectionRow
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT name FROM record_collections WHERE org_id = ? ORDER BY name", p.OrgID)
		if err != nil {
			return dbErr(op, err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return dbErr(op, err)
			}
			names = append(names, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(op, err)
		}
		for _, n := range names {
			c, err := loadCollection(ctx, tx, op, p.OrgID, n)
			if err != nil {
				return err
			}
			all = append(all, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []Collection{}
	for _, c := range all {
		if manage == nil || can(ctx, p, authz.RecordsRead, c.name) == nil {
			out = append(out, c.public())
		}
	}
	return out, nil
}

// DeleteCollection deletes an empty collection (collections.manage).
// Errors: errs.NotFound, errs.Conflict while it still holds records.
func (s *Service) DeleteCollection(ctx context.Context, p authz.Principal, name string) error {
	const op = "records.DeleteCollection"
	if err := can(ctx, p, authz.CollectionsManage, name); err != nil {
		return err
	}
	if !validName(name) {
		return errNoCollection(op)
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := loadCollection(ctx, tx, op, p.OrgID, name); err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE org_id = ? AND collection = ? LIMIT 1) AS t", p.OrgID, name).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n > 0 {
			return errs.E(errs.Conflict, op, "the collection still holds records; delete them first")
		}
		if _, err := tx.Exec(ctx, "DELETE FROM record_collections WHERE org_id = ? AND name = ?", p.OrgID, name); err != nil {
			return dbErr(op, err)
		}
		_, err := s.audit.Append(ctx, tx, event(p, "collection.delete", "collection:"+name, map[string]any{"collection": name}))
		return err
	})
}
