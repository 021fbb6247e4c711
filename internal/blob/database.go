package blob

import (
	"context"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// deleteBatch is how many parts one delete transaction removes, so deleting
// a large file never holds the (SQLite) writer for long.
const deleteBatch = 64

// Database keeps parts in the file_chunks table: one row per part, each
// part written in its own transaction, so an upload never holds the writer
// while it waits for the network.
type Database struct {
	db *store.DB
}

var _ Store = (*Database)(nil)

// NewDatabase returns the database store over db.
func NewDatabase(db *store.DB) *Database { return &Database{db: db} }

// Kind is "database".
func (d *Database) Kind() string { return KindDatabase }

func dbErr(op string, err error) error {
	return errs.E(errs.Unavailable, op, "database unavailable", err)
}

// Put stores one part in its own transaction.
func (d *Database) Put(ctx context.Context, org, file string, index int64, data []byte) error {
	const op = "blob.Database.Put"
	if err := checkAddress(op, org, file, index); err != nil {
		return err
	}
	return d.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO file_chunks (org_id, file_id, idx, data) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id, file_id, idx) DO UPDATE SET data = excluded.data`, org, file, index, data); err != nil {
			return dbErr(op, err)
		}
		return nil
	})
}

// Get reads one part.
func (d *Database) Get(ctx context.Context, org, file string, index int64) ([]byte, error) {
	const op = "blob.Database.Get"
	if err := checkAddress(op, org, file, index); err != nil {
		return nil, err
	}
	var data []byte
	err := d.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.QueryRow(ctx, "SELECT data FROM file_chunks WHERE org_id = ? AND file_id = ? AND idx = ?", org, file, index).Scan(&data)
		switch {
		case store.IsNoRows(err):
			return errs.E(errs.NotFound, op, "no such part")
		case err != nil:
			return dbErr(op, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPartBytes {
		return nil, errs.E(errs.Integrity, op, "stored part is larger than any part Rampart writes")
	}
	return data, nil
}

// Delete removes a file's parts, deleteBatch parts per transaction.
func (d *Database) Delete(ctx context.Context, org, file string) error {
	const op = "blob.Database.Delete"
	if err := checkAddress(op, org, file, 0); err != nil {
		return err
	}
	for {
		var n int64
		err := d.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			// The lowest remaining index starts the next batch: one indexed
			// range delete, the same statement on both databases.
			var low int64
			err := tx.QueryRow(ctx, "SELECT idx FROM file_chunks WHERE org_id = ? AND file_id = ? ORDER BY idx LIMIT 1", org, file).Scan(&low)
			if store.IsNoRows(err) {
				return nil
			}
			if err != nil {
				return dbErr(op, err)
			}
			res, err := tx.Exec(ctx, "DELETE FROM file_chunks WHERE org_id = ? AND file_id = ? AND idx >= ? AND idx < ?", org, file, low, low+deleteBatch)
			if err != nil {
				return dbErr(op, err)
			}
			n, _ = res.RowsAffected()
			return nil
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// DeleteOrg removes the parts of every file of org, file by file.
func (d *Database) DeleteOrg(ctx context.Context, org string) error {
	const op = "blob.Database.DeleteOrg"
	if err := checkAddress(op, org, "", 0); err != nil {
		return err
	}
	for {
		var files []string
		err := d.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			rows, err := tx.Query(ctx, "SELECT DISTINCT file_id FROM file_chunks WHERE org_id = ? LIMIT 100", org)
			if err != nil {
				return dbErr(op, err)
			}
			defer rows.Close()
			for rows.Next() {
				var f string
				if err := rows.Scan(&f); err != nil {
					return dbErr(op, err)
				}
				files = append(files, f)
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return nil
		}
		for _, f := range files {
			if !isUUID(f) {
				// A row this package never wrote; remove it directly.
				if err := d.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
					_, err := tx.Exec(ctx, "DELETE FROM file_chunks WHERE org_id = ? AND file_id = ?", org, f)
					return err
				}); err != nil {
					return dbErr(op, err)
				}
				continue
			}
			if err := d.Delete(ctx, org, f); err != nil {
				return err
			}
		}
	}
}
