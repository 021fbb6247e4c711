package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Source is the live instance a backup is taken of.
type Source struct {
	// DB is the open instance: tombstones are read from it.
	DB *store.DB
	// SQLitePath is the database file (SQLite), or "".
	SQLitePath string
	// PostgresURL is the database URL (PostgreSQL), or "".
	PostgresURL string
}

// spooled is a member written to the spool directory.
type spooled struct {
	Member
	path string
}

// sqliteMember is the one member of a SQLite archive.
const sqliteMember = "rampart.db"

// gooseTable holds the schema version; it is not copied on PostgreSQL (the
// restore's migrations create it).
const gooseTable = "goose_db_version"

// snapshot writes a consistent copy of the database into spool and fills
// in m's dialect, schema version and tables.
func snapshot(ctx context.Context, src Source, spool string, m *Manifest) ([]spooled, error) {
	if src.PostgresURL != "" {
		m.Dialect = string(store.Postgres)
		return snapshotPostgres(ctx, src.PostgresURL, spool, m)
	}
	m.Dialect = string(store.SQLite)
	return snapshotSQLite(ctx, src.SQLitePath, spool, m)
}

func quoteSQLite(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// snapshotSQLite runs VACUUM INTO from a read-only connection of its own:
// the statement reads one WAL snapshot, so the copy is consistent while the
// server's writer keeps committing, and it never blocks that writer.
func snapshotSQLite(ctx context.Context, path, spool string, m *Manifest) ([]spooled, error) {
	const op = "backup.snapshotSQLite"
	if _, err := os.Stat(path); err != nil {
		return nil, errs.E(errs.NotFound, op, "no SQLite database at "+path, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	src, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot open the database", err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	out := filepath.Join(spool, sqliteMember)
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return nil, errs.E(errs.Unavailable, op, "snapshot (VACUUM INTO) failed", err)
	}
	if err := os.Chmod(out, 0o600); err != nil {
		return nil, errs.E(op, err)
	}
	tables, version, err := describeSQLite(ctx, out)
	if err != nil {
		return nil, err
	}
	m.Tables, m.SchemaVersion = tables, version
	mem, err := hashFile(out, sqliteMember)
	if err != nil {
		return nil, err
	}
	return []spooled{{Member: mem, path: out}}, nil
}

// describeSQLite counts the rows of every table of a SQLite file and reads
// its schema version.
func describeSQLite(ctx context.Context, path string) ([]Table, int64, error) {
	const op = "backup.describeSQLite"
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, 0, errs.E(errs.Unavailable, op, "cannot open snapshot", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, 0, errs.E(errs.Integrity, op, "snapshot is not a readable SQLite database", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, 0, errs.E(errs.Integrity, op, "snapshot is not a readable SQLite database", err)
		}
		names = append(names, n)
	}
	rows.Close()
	var tables []Table
	var version int64
	for _, n := range names {
		var c int64
		// The name comes from sqlite_master of our own snapshot, quoted.
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteSQLite(n)).Scan(&c); err != nil { // #nosec G202 -- a table name from our own snapshot's sqlite_master, quoted
			return nil, 0, errs.E(errs.Integrity, op, "cannot count rows of "+n, err)
		}
		if n == gooseTable {
			if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&version); err != nil {
				return nil, 0, errs.E(errs.Integrity, op, "cannot read the schema version", err)
			}
		}
		tables = append(tables, Table{Name: n, Rows: c})
	}
	return tables, version, nil
}

// snapshotPostgres copies every table of the instance's schema with binary
// COPY inside one REPEATABLE READ, READ ONLY transaction: all tables are read at
// the same moment while the server keeps writing.
func snapshotPostgres(ctx context.Context, dbURL, spool string, m *Manifest) ([]spooled, error) {
	const op = "backup.snapshotPostgres"
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot connect to PostgreSQL at "+store.RedactURL(dbURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot start the snapshot transaction", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	tables, err := pgTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&m.SchemaVersion); err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot read the schema version (is this a Rampart database?)", err)
	}
	// Binary COPY: bytea (every ciphertext) is stored as raw bytes, where
	// the text format would double it in hex. The column types Rampart uses
	// (text, bytea, bigint, integer, boolean) have a stable binary form.
	m.CopyFormat = "binary"
	var out []spooled
	for i := range tables {
		t := &tables[i]
		if t.Name == gooseTable {
			continue
		}
		name := "tables/" + t.Name + ".copy"
		p := filepath.Join(spool, fmt.Sprintf("t%03d.copy", i))
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- our spool directory
		if err != nil {
			return nil, errs.E(op, err)
		}
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(f, h)}
		tag, err := tx.Conn().PgConn().CopyTo(ctx, cw, "COPY "+pgIdent(t.Name)+" ("+pgIdentList(t.Columns)+") TO STDOUT (FORMAT binary)")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, errs.E(errs.Unavailable, op, "COPY of table "+t.Name+" failed", err)
		}
		t.Rows = tag.RowsAffected()
		out = append(out, spooled{Member: Member{Name: name, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, path: p})
	}
	m.Tables = nil
	for _, t := range tables {
		if t.Name != gooseTable {
			m.Tables = append(m.Tables, t)
		}
	}
	return out, nil
}

// pgTables lists the ordinary tables of the current schema with their
// columns in attribute order.
func pgTables(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]Table, error) {
	const op = "backup.pgTables"
	rows, err := q.Query(ctx, `SELECT c.relname, a.attname
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot list tables", err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var tn, col string
		if err := rows.Scan(&tn, &col); err != nil {
			return nil, errs.E(errs.Unavailable, op, "cannot list tables", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != tn {
			out = append(out, Table{Name: tn})
		}
		out[len(out)-1].Columns = append(out[len(out)-1].Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot list tables", err)
	}
	return out, nil
}

func pgIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

func pgIdentList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgIdent(c)
	}
	return strings.Join(q, ", ")
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// hashFile returns a member describing the file at p.
func hashFile(p, name string) (Member, error) {
	f, err := os.Open(p) // #nosec G304 -- our spool directory
	if err != nil {
		return Member{}, errs.E("backup.hashFile", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Member{}, errs.E("backup.hashFile", err)
	}
	return Member{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
