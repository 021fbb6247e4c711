package store

import (
	"context"
	"fmt"
	"regexp"
	"sort"

	"github.com/rampart-platform/rampart/internal/errs"
)

// OrgColumn is the column that ties a row to its organization. Every
// tenant table has it; PurgeOrg relies on that convention, so a table
// added by a later migration is purged without anyone remembering to.
const OrgColumn = "org_id"

// identifier is what a table name read from the catalogue must look like
// before it is written into a statement.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// OrgTables lists the tables of the current schema that have an org_id
// column, children before the tables their foreign keys point at, so rows
// can be deleted in that order without violating a constraint. Tables in
// keep are left out.
func (tx *Tx) OrgTables(ctx context.Context, keep ...string) ([]string, error) {
	const op = "store.OrgTables"
	var listQ, fkQ string
	switch tx.Dialect() {
	case SQLite:
		listQ = `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
			WHERE m.type = 'table' AND c.name = ? ORDER BY m.name`
		fkQ = `SELECT m.name, f."table" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
			WHERE m.type = 'table'`
	default:
		listQ = `SELECT table_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name = ? ORDER BY table_name`
		fkQ = `SELECT tc.table_name, ccu.table_name FROM information_schema.table_constraints tc
			JOIN information_schema.constraint_column_usage ccu
			  ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema
			WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()`
	}
	skip := map[string]bool{}
	for _, k := range keep {
		skip[k] = true
	}
	var tables []string
	if err := scanStrings(ctx, tx, listQ, []any{OrgColumn}, func(v []string) {
		if !skip[v[0]] {
			tables = append(tables, v[0])
		}
	}); err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot read the schema catalogue", err)
	}
	// parents[t] are the tables t references; t must be emptied first.
	parents := map[string][]string{}
	if err := scanStrings(ctx, tx, fkQ, nil, func(v []string) {
		if v[0] != v[1] {
			parents[v[0]] = append(parents[v[0]], v[1])
		}
	}); err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot read foreign keys", err)
	}
	for _, t := range tables {
		if !identifier.MatchString(t) {
			return nil, errs.E(op, fmt.Errorf("unexpected table name %q in the catalogue", t))
		}
	}
	return childrenFirst(tables, parents), nil
}

// childrenFirst orders tables so that every table comes before the tables
// it references (a depth-first topological order; cycles, which the
// schema does not have, fall back to name order).
func childrenFirst(tables []string, parents map[string][]string) []string {
	in := map[string]bool{}
	for _, t := range tables {
		in[t] = true
	}
	// children[p] are the tables that reference p.
	children := map[string][]string{}
	for c, ps := range parents {
		for _, p := range ps {
			children[p] = append(children[p], c)
		}
	}
	for _, cs := range children {
		sort.Strings(cs)
	}
	done := map[string]bool{}
	var out []string
	var visit func(t string, depth int)
	visit = func(t string, depth int) {
		if done[t] || depth > len(tables)+len(children) {
			return
		}
		done[t] = true
		for _, c := range children[t] {
			visit(c, depth+1)
		}
		if in[t] {
			out = append(out, t)
		}
	}
	// Visiting a table emits its referencing tables before it.
	for _, t := range tables {
		visit(t, 0)
	}
	return out
}

// PurgeOrg deletes every row of org from every table OrgTables lists
// (except keep) and reports how many rows each table lost.
func (tx *Tx) PurgeOrg(ctx context.Context, org string, keep ...string) (map[string]int64, error) {
	const op = "store.PurgeOrg"
	tables, err := tx.OrgTables(ctx, keep...)
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, t := range tables {
		// #nosec G202 -- t comes from the schema catalogue and matched identifier above; the org id is a parameter
		res, err := tx.Exec(ctx, "DELETE FROM "+t+" WHERE "+OrgColumn+" = ?", org)
		if err != nil {
			return nil, errs.E(errs.Unavailable, op, "cannot delete the organization's rows from "+t, err)
		}
		if n, err := res.RowsAffected(); err == nil && n > 0 {
			counts[t] = n
		}
	}
	return counts, nil
}

// CountOrgRows reports, per table, the rows org still has (tests and the
// deletion report use it to prove nothing is left).
func (tx *Tx) CountOrgRows(ctx context.Context, org string, keep ...string) (map[string]int64, error) {
	tables, err := tx.OrgTables(ctx, keep...)
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, t := range tables {
		var n int64
		// #nosec G202 -- t comes from the schema catalogue and matched identifier; the org id is a parameter
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+t+" WHERE "+OrgColumn+" = ?", org).Scan(&n); err != nil {
			return nil, errs.E(errs.Unavailable, "store.CountOrgRows", "cannot count rows of "+t, err)
		}
		if n > 0 {
			counts[t] = n
		}
	}
	return counts, nil
}

func scanStrings(ctx context.Context, tx *Tx, q string, args []any, each func([]string)) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		v := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range v {
			ptrs[i] = &v[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		each(v)
	}
	return rows.Err()
}

// CompactAfterDelete makes deleted rows physically go away from the live
// files where the database allows it: on SQLite, deleted content is
// zeroed (secure_delete) and this checkpoint truncates the WAL, which
// still held the old pages. PostgreSQL's dead tuples go with autovacuum.
// Best effort: a reader that holds an old snapshot can delay it.
func (db *DB) CompactAfterDelete(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	_, err := db.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}
