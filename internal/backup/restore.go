package backup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// openArchive checks the stored archive against its listing (size and
// SHA-256 of the encrypted bytes: this needs no identity), then decrypts it
// into dir, checking the manifest and every member.
func openArchive(ctx context.Context, t Target, info Info, ids []age.Identity, dir string, progress func(int64)) (Manifest, []spooled, error) {
	const op = "backup.openArchive"
	r, err := t.Open(ctx, archiveName(info.ID))
	if err != nil {
		return Manifest{}, nil, err
	}
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, r})
	_ = r.Close()
	if err != nil {
		return Manifest{}, nil, errs.E(errs.Unavailable, op, "cannot read backup "+info.ID+" from "+t.String(), err)
	}
	if n != info.Size || hex.EncodeToString(h.Sum(nil)) != info.SHA256 {
		return Manifest{}, nil, errCorrupt(op, fmt.Sprintf("the stored archive of %s does not match the SHA-256 and size recorded when it was made (altered or damaged)", info.ID), nil)
	}
	r, err = t.Open(ctx, archiveName(info.ID))
	if err != nil {
		return Manifest{}, nil, err
	}
	defer r.Close()
	var in io.Reader = ctxReader{ctx, r}
	if progress != nil {
		in = io.TeeReader(in, progressWriter(progress))
	}
	m, files, err := readArchive(in, ids, dir)
	if err != nil {
		return m, files, err
	}
	if m.ID != info.ID || m.Dialect != info.Dialect || m.SchemaVersion != info.SchemaVersion {
		return m, files, errCorrupt(op, "its manifest does not describe backup "+info.ID, nil)
	}
	return m, files, nil
}

// RestoreOptions says where a restore goes.
type RestoreOptions struct {
	// Dir is the new instance's data directory; it must not exist or be
	// empty. A SQLite backup is restored to Dir/rampart.db.
	Dir string
	// PostgresURL is the new instance's database for a PostgreSQL backup:
	// a database or schema (search_path) without Rampart tables or with
	// empty ones.
	PostgresURL string
	// RootKeyFile is the root key of the instance the backup was made of
	// (not in the archive); it is copied to Dir/root.key.
	RootKeyFile string
	// TempDir holds the decrypted members of a PostgreSQL backup while they
	// load (default: the system's temporary directory).
	TempDir string
	// Progress, when set, is called with the archive bytes decrypted.
	Progress func(n int64)
}

// Restored describes a restored instance. Its tombstones are not applied
// yet: the caller opens it and calls ApplyTombstones before serving it.
type Restored struct {
	Info        Info
	Manifest    Manifest
	Dir         string
	RootKeyFile string
	SQLitePath  string // SQLite backups
	PostgresURL string // PostgreSQL backups
}

// Restore decrypts backup id from t with ids and makes a new instance of it
// as opts says. On failure it removes what it created.
func Restore(ctx context.Context, t Target, id string, ids []age.Identity, opts RestoreOptions) (_ Restored, err error) {
	const op = "backup.Restore"
	info, err := Find(ctx, t, id)
	if err != nil {
		return Restored{}, err
	}
	if info.Dialect == string(store.Postgres) && opts.PostgresURL == "" {
		return Restored{}, errs.E(errs.Invalid, op, "backup "+id+" is of a PostgreSQL instance: give the new instance's database with --to-database-url")
	}
	if info.Dialect == string(store.SQLite) && opts.PostgresURL != "" {
		return Restored{}, errs.E(errs.Invalid, op, "backup "+id+" is of a SQLite instance: it restores into --to DIR only, not into a PostgreSQL database")
	}
	if opts.RootKeyFile == "" {
		return Restored{}, errs.E(errs.Invalid, op, "a restore needs the root key of the instance the backup was made of (it is not in the archive): give --root-key-file")
	}
	if _, err := keys.OpenLocalRootKey(opts.RootKeyFile, false); err != nil {
		return Restored{}, err
	}
	created, err := prepareEmptyDir(opts.Dir)
	if err != nil {
		return Restored{}, err
	}
	defer func() {
		if err != nil {
			cleanupDir(opts.Dir, created)
		}
	}()
	parent := opts.Dir // SQLite: decrypt next to the final file, so it is renamed into place
	if info.Dialect == string(store.Postgres) {
		parent = opts.TempDir
	}
	work, err := makeTempDir(parent, ".restore-")
	if err != nil {
		return Restored{}, err
	}
	defer os.RemoveAll(work)
	m, files, err := openArchive(ctx, t, info, ids, work, opts.Progress)
	if err != nil {
		return Restored{}, err
	}
	res := Restored{Info: info, Manifest: m, Dir: opts.Dir, RootKeyFile: filepath.Join(opts.Dir, "root.key")}
	if err := copyRootKey(opts.RootKeyFile, res.RootKeyFile); err != nil {
		return Restored{}, err
	}
	switch m.Dialect {
	case string(store.SQLite):
		if len(files) != 1 || files[0].Name != sqliteMember {
			return Restored{}, errCorrupt(op, "a SQLite archive must hold exactly "+sqliteMember, nil)
		}
		if err := checkSQLite(ctx, files[0].path, m); err != nil {
			return Restored{}, err
		}
		res.SQLitePath = filepath.Join(opts.Dir, "rampart.db")
		if err := os.Rename(files[0].path, res.SQLitePath); err != nil {
			return Restored{}, errs.E(op, err)
		}
	case string(store.Postgres):
		if err := restorePostgres(ctx, opts.PostgresURL, m, files); err != nil {
			return Restored{}, err
		}
		res.PostgresURL = opts.PostgresURL
	default:
		return Restored{}, errCorrupt(op, "unknown dialect "+m.Dialect, nil)
	}
	return res, nil
}

// prepareEmptyDir makes dir (0700) or accepts an existing empty one.
func prepareEmptyDir(dir string) (created bool, err error) {
	const op = "backup.prepareEmptyDir"
	if dir == "" {
		return false, errs.E(errs.Invalid, op, "give the new data directory with --to DIR")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, errs.E(errs.Invalid, op, "cannot create "+dir, err)
		}
		return true, nil
	case err != nil:
		return false, errs.E(errs.Invalid, op, "cannot use "+dir+" as the new data directory", err)
	case len(entries) > 0:
		return false, errs.E(errs.Invalid, op, "refusing to restore into "+dir+": the directory is not empty (restore into a new directory)")
	}
	return false, os.Chmod(dir, 0o700)
}

func cleanupDir(dir string, created bool) {
	if created {
		_ = os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func copyRootKey(src, dst string) error {
	b, err := os.ReadFile(src) // #nosec G304 -- the operator's root key file
	if err != nil {
		return errs.E(errs.Invalid, "backup.copyRootKey", "cannot read the root key file "+src, err)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- inside the new data directory
	if err != nil {
		return errs.E("backup.copyRootKey", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkSQLite runs PRAGMA integrity_check on a decrypted snapshot and
// compares its tables and row counts with the manifest.
func checkSQLite(ctx context.Context, path string, m Manifest) error {
	const op = "backup.checkSQLite"
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return errs.E(errs.Unavailable, op, "cannot open the snapshot", err)
	}
	var res string
	err = db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res)
	_ = db.Close()
	if err != nil || res != "ok" {
		if err == nil {
			err = errors.New(res)
		}
		return errCorrupt(op, "PRAGMA integrity_check failed on the snapshot", err)
	}
	tables, version, err := describeSQLite(ctx, path)
	if err != nil {
		return err
	}
	if version != m.SchemaVersion {
		return errCorrupt(op, fmt.Sprintf("the snapshot is at schema version %d, the manifest says %d", version, m.SchemaVersion), nil)
	}
	return compareTables(op, tables, m.Tables)
}

func compareTables(op string, got, want []Table) error {
	g := map[string]int64{}
	for _, t := range got {
		g[t.Name] = t.Rows
	}
	if len(got) != len(want) {
		return errCorrupt(op, fmt.Sprintf("the snapshot has %d tables, the manifest %d", len(got), len(want)), nil)
	}
	for _, t := range want {
		n, ok := g[t.Name]
		if !ok || n != t.Rows {
			return errCorrupt(op, fmt.Sprintf("table %s has %d rows, the manifest says %d", t.Name, n, t.Rows), nil)
		}
	}
	return nil
}

// restorePostgres creates the schema in dbURL with the migrations and loads
// every table with COPY FROM, parents before children, in one transaction.
func restorePostgres(ctx context.Context, dbURL string, m Manifest, files []spooled) error {
	const op = "backup.restorePostgres"
	db, err := store.Open(ctx, store.Options{PostgresURL: dbURL, MaxOpenConns: 2})
	if err != nil {
		return err
	}
	if _, err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return err
	}
	cur, _, err := db.SchemaVersion(ctx)
	_ = db.Close()
	if err != nil {
		return err
	}
	if cur != m.SchemaVersion {
		return errs.E(errs.Precondition, op, fmt.Sprintf("the backup is at schema version %d and this Rampart's is %d: restore a PostgreSQL backup with the Rampart release that made it, then upgrade", m.SchemaVersion, cur))
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return errs.E(errs.Unavailable, op, "cannot connect to PostgreSQL at "+store.RedactURL(dbURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := pgTables(ctx, conn)
	if err != nil {
		return err
	}
	have := map[string]Table{}
	for _, t := range tables {
		have[t.Name] = t
	}
	paths := map[string]string{}
	for _, f := range files {
		paths[f.Name] = f.path
	}
	for _, t := range m.Tables {
		if _, ok := have[t.Name]; !ok {
			return errs.E(errs.Precondition, op, "table "+t.Name+" of the backup does not exist in the new database")
		}
		if paths["tables/"+t.Name+".copy"] == "" {
			return errCorrupt(op, "the data of table "+t.Name+" is missing", nil)
		}
		var nonEmpty bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgIdent(t.Name)+")").Scan(&nonEmpty); err != nil {
			return errs.E(errs.Unavailable, op, "cannot inspect the new database", err)
		}
		if nonEmpty {
			return errs.E(errs.Invalid, op, "refusing to restore: table "+t.Name+" of the new database already holds rows (restore into an empty database or schema)")
		}
	}
	format := ""
	switch m.CopyFormat {
	case "binary":
		format = " (FORMAT binary)"
	case "":
	default:
		return errCorrupt(op, "unknown COPY format "+m.CopyFormat, nil)
	}
	order, err := pgLoadOrder(ctx, conn, m.Tables)
	if err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return errs.E(errs.Unavailable, op, "cannot start the restore transaction", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	for _, t := range order {
		f, err := os.Open(paths["tables/"+t.Name+".copy"])
		if err != nil {
			return errs.E(op, err)
		}
		tag, err := tx.Conn().PgConn().CopyFrom(ctx, f, "COPY "+pgIdent(t.Name)+" ("+pgIdentList(t.Columns)+") FROM STDIN"+format)
		_ = f.Close()
		if err != nil {
			return errs.E(errs.Unavailable, op, "loading table "+t.Name+" failed", err)
		}
		if tag.RowsAffected() != t.Rows {
			return errCorrupt(op, fmt.Sprintf("table %s loaded %d rows, the manifest says %d", t.Name, tag.RowsAffected(), t.Rows), nil)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return errs.E(errs.Unavailable, op, "committing the restore failed", err)
	}
	return nil
}

// pgLoadOrder sorts tables so that every table comes after the tables its
// foreign keys point to.
func pgLoadOrder(ctx context.Context, conn *pgx.Conn, tables []Table) ([]Table, error) {
	rows, err := conn.Query(ctx, `SELECT child.relname, parent.relname
		FROM pg_constraint c
		JOIN pg_class child ON child.oid = c.conrelid
		JOIN pg_class parent ON parent.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = child.relnamespace
		WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "backup.pgLoadOrder", "cannot read foreign keys", err)
	}
	deps := map[string][]string{}
	for rows.Next() {
		var c, p string
		if err := rows.Scan(&c, &p); err != nil {
			rows.Close()
			return nil, errs.E(errs.Unavailable, "backup.pgLoadOrder", "cannot read foreign keys", err)
		}
		if c != p {
			deps[c] = append(deps[c], p)
		}
	}
	rows.Close()
	byName := map[string]Table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	var out []Table
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return errs.E(errs.Precondition, "backup.pgLoadOrder", "foreign keys form a cycle at table "+n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, p := range deps[n] {
			if err := visit(p); err != nil {
				return err
			}
		}
		state[n] = 2
		if t, ok := byName[n]; ok {
			out = append(out, t)
		}
		return nil
	}
	for _, t := range tables {
		if err := visit(t.Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScratchPostgres creates an empty schema with a random name in the
// database of baseURL and returns a URL that uses it and a function that
// drops it. Verify and the drill load PostgreSQL backups there, apart from
// the live instance's schema.
func ScratchPostgres(ctx context.Context, baseURL string) (string, func(context.Context) error, error) {
	const op = "backup.ScratchPostgres"
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", nil, errs.E(errs.Invalid, op, "database_url is not a valid PostgreSQL URL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "rampart_scratch_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return "", nil, errs.E(errs.Unavailable, op, "cannot connect to PostgreSQL at "+store.RedactURL(baseURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgIdent(schema)); err != nil {
		return "", nil, errs.E(errs.Unavailable, op, "cannot create a scratch schema (the database role needs CREATE on the database)", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, baseURL)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "DROP SCHEMA "+pgIdent(schema)+" CASCADE")
		return err
	}
	return u.String(), drop, nil
}

// VerifyOptions tunes Verify.
type VerifyOptions struct {
	// RootKey unwraps the audit keys of the snapshot so that its audit
	// chains are verified; nil skips that check (reported).
	RootKey keys.RootKey
	// PostgresURL is a database where a PostgreSQL backup is loaded into a
	// scratch schema for its checks (normally the instance's own database;
	// its schema is not touched). Empty: only hashes and row counts are
	// checked for such a backup.
	PostgresURL string
	TempDir     string
	Now         func() time.Time
	// Progress, when set, is called with the archive bytes decrypted.
	Progress func(n int64)
}

// Verify decrypts backup id, checks the stored archive against its listing,
// the manifest and every member's hash, opens the snapshot apart from the
// live instance (SQLite: PRAGMA integrity_check; PostgreSQL: loaded into a
// scratch schema), compares row counts and verifies the audit chains. The
// result is stored next to the backup (unless the identity did not fit,
// which says nothing about the backup).
func Verify(ctx context.Context, t Target, id string, ids []age.Identity, opts VerifyOptions) (Verification, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	v, err := verify(ctx, t, id, ids, opts, now)
	v.At = start.UTC()
	v.DurationMS = now().Sub(start).Milliseconds()
	v.OK = err == nil
	if err != nil {
		v.Error = errs.SafeMessage(err)
	}
	if err == nil || errs.KindOf(err) == errs.Integrity {
		if perr := putJSON(context.WithoutCancel(ctx), t, verificationName(id), v); perr != nil && err == nil {
			return v, perr
		}
	}
	return v, err
}

func verify(ctx context.Context, t Target, id string, ids []age.Identity, opts VerifyOptions, now func() time.Time) (Verification, error) {
	var v Verification
	info, err := Find(ctx, t, id)
	if err != nil {
		return v, err
	}
	work, err := makeTempDir(opts.TempDir, "rampart-verify-")
	if err != nil {
		return v, err
	}
	defer os.RemoveAll(work)
	m, files, err := openArchive(ctx, t, info, ids, work, opts.Progress)
	if err != nil {
		return v, err
	}
	v.Tables, v.Rows = len(m.Tables), m.Rows()
	var db *store.DB
	switch m.Dialect {
	case string(store.SQLite):
		if len(files) != 1 || files[0].Name != sqliteMember {
			return v, errCorrupt("backup.Verify", "a SQLite archive must hold exactly "+sqliteMember, nil)
		}
		if err := checkSQLite(ctx, files[0].path, m); err != nil {
			return v, err
		}
		if opts.RootKey == nil {
			return v, nil
		}
		db, err = store.Open(ctx, store.Options{SQLitePath: files[0].path})
		if err != nil {
			return v, err
		}
	case string(store.Postgres):
		if opts.PostgresURL == "" {
			return v, nil
		}
		scratch, drop, err := ScratchPostgres(ctx, opts.PostgresURL)
		if err != nil {
			return v, err
		}
		defer func() { _ = drop(context.WithoutCancel(ctx)) }()
		if err := restorePostgres(ctx, scratch, m, files); err != nil {
			return v, err
		}
		if opts.RootKey == nil {
			return v, nil
		}
		db, err = store.Open(ctx, store.Options{PostgresURL: scratch, MaxOpenConns: 4})
		if err != nil {
			return v, err
		}
	default:
		return v, errCorrupt("backup.Verify", "unknown dialect "+m.Dialect, nil)
	}
	defer db.Close()
	rep, err := VerifyAudit(ctx, db, opts.RootKey, now)
	v.AuditChains, v.AuditEntries = rep.Chains, rep.Entries
	return v, err
}

// VerifyAudit verifies every audit chain of db (a snapshot or a restored
// instance) with root, and turns a broken chain into an errs.Integrity
// error naming the first problem.
func VerifyAudit(ctx context.Context, db *store.DB, root keys.RootKey, now func() time.Time) (audit.Report, error) {
	if _, err := db.Migrate(ctx); err != nil {
		return audit.Report{}, err
	}
	signer, err := audit.LoadSigner(ctx, db, root, now)
	if err != nil {
		return audit.Report{}, err
	}
	rep, err := audit.New(signer, now, audit.Options{CheckpointEvery: 1000}).Verify(ctx, db, audit.AllOrgs)
	if err != nil {
		return rep, err
	}
	if !rep.OK() {
		p := rep.Problems[0]
		org := p.Org
		if org == "" {
			org = "(platform)"
		}
		return rep, errCorrupt("backup.VerifyAudit", fmt.Sprintf("audit chain %s is broken at entry %d: %s", org, p.Seq, strings.TrimSpace(p.Message)), nil)
	}
	return rep, nil
}
