package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/rampart-platform/rampart/internal/errs"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options says which database to open.
type Options struct {
	// SQLitePath is the database file for the embedded default. Used when
	// PostgresURL is empty.
	SQLitePath string
	// PostgresURL is a postgres:// connection URL.
	PostgresURL string
	// MaxOpenConns bounds the PostgreSQL pool (default 16) or the SQLite
	// reader pool (default 8).
	MaxOpenConns int
}

// DB is an open Rampart database.
type DB struct {
	dialect Dialect
	read    *sql.DB // readers (SQLite: query_only connections; PostgreSQL: the pool)
	write   *sql.DB // SQLite: the single writer connection; PostgreSQL: same as read
	batcher *batcher
	rebind  sync.Map // query text -> rebound text (PostgreSQL)

	readStmts, writeStmts sync.Map       // query text -> *sql.Stmt (SQLite)
	preparing             sync.WaitGroup // background prepares, awaited by Close
}

// Open connects to the database described by opts and checks that it
// answers. It does not migrate: call Migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	const op = "store.Open"
	if opts.PostgresURL != "" {
		return openPostgres(ctx, opts)
	}
	if opts.SQLitePath == "" {
		return nil, errs.E(errs.Invalid, op, "no database configured")
	}
	return openSQLite(ctx, opts)
}

func openPostgres(ctx context.Context, opts Options) (*DB, error) {
	const op = "store.Open"
	pool, err := sql.Open("pgx", opts.PostgresURL)
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "database_url is not a valid PostgreSQL URL", err)
	}
	n := opts.MaxOpenConns
	if n <= 0 {
		n = 16
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, errs.E(errs.Unavailable, op, "cannot connect to PostgreSQL at "+RedactURL(opts.PostgresURL), err)
	}
	return &DB{dialect: Postgres, read: pool, write: pool}, nil
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		// FULL: a commit is on disk when Commit returns (durable writes).
		"synchronous(FULL)",
		"foreign_keys(1)",
		"busy_timeout(10000)",
		"temp_store(MEMORY)",
		"cache_size(-32768)",
	} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// BEGIN IMMEDIATE: take the write lock at the start, so a
		// transaction never fails half-way on a lock upgrade.
		q.Set("_txlock", "immediate")
		// Deleted content is overwritten with zeros, so a revoked
		// credential or a shredded organization's wrapped keys do not
		// linger in free pages of the file.
		q.Add("_pragma", "secure_delete(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, opts Options) (*DB, error) {
	const op = "store.Open"
	if dir := filepath.Dir(opts.SQLitePath); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, errs.E(errs.Invalid, op, "database directory "+dir+" does not exist", err)
		}
	}
	w, err := sql.Open("sqlite", sqliteDSN(opts.SQLitePath, false))
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "cannot open SQLite database", err)
	}
	// One writer connection: SQLite serialises writers anyway, and a
	// single connection lets the batcher own it.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, errs.E(errs.Unavailable, op, "cannot open SQLite database "+opts.SQLitePath, err)
	}
	// The database file holds tenant ciphertexts and audit history: owner only.
	if err := os.Chmod(opts.SQLitePath, 0o600); err != nil {
		_ = w.Close()
		return nil, errs.E(op, "cannot restrict database file permissions", err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(opts.SQLitePath, true))
	if err != nil {
		_ = w.Close()
		return nil, errs.E(errs.Invalid, op, "cannot open SQLite database", err)
	}
	n := opts.MaxOpenConns
	if n <= 0 {
		n = 8
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{dialect: SQLite, read: r, write: w}
	db.batcher = newBatcher(db)
	return db, nil
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers (readiness).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return errs.E(errs.Unavailable, "store.Ping", "database unavailable", err)
	}
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return errs.E(errs.Unavailable, "store.Ping", "database unavailable", err)
	}
	return nil
}

// Close stops the writer after the transactions already queued and closes
// the connections.
func (db *DB) Close() error {
	if db.batcher != nil {
		db.batcher.close()
	}
	db.preparing.Wait()
	for _, m := range []*sync.Map{&db.readStmts, &db.writeStmts} {
		m.Range(func(_, v any) bool {
			if st, ok := v.(*sql.Stmt); ok {
				_ = st.Close()
			}
			return true
		})
	}
	err := db.read.Close()
	if db.write != db.read {
		if db.dialect == SQLite {
			// Fold the WAL back into the main file so a stopped
			// instance is one self-contained file.
			_, _ = db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		}
		err = errors.Join(err, db.write.Close())
	}
	return err
}

// Read runs fn in a read-only transaction that sees one consistent snapshot
// (SQLite: a WAL read transaction; PostgreSQL: REPEATABLE READ, so every
// query in fn sees the same moment, as audit verification needs).
func (db *DB) Read(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	opts := &sql.TxOptions{}
	if db.dialect == Postgres {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	sqlTx, err := db.read.BeginTx(ctx, opts)
	if err != nil {
		return errs.E(errs.Unavailable, "store.Read", "database unavailable", err)
	}
	tx := &Tx{db: db, q: sqlTx, pool: db.read}
	err = fn(ctx, tx)
	tx.done = true
	if err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	return sqlTx.Commit()
}

// Write runs fn in a read-write transaction and commits it durably. If fn
// returns an error nothing it did is kept and that error is returned.
func (db *DB) Write(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if db.batcher != nil {
		return db.batcher.submit(ctx, fn)
	}
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return errs.E(errs.Unavailable, "store.Write", "database unavailable", err)
	}
	tx := &Tx{db: db, q: sqlTx, pool: db.write}
	err = fn(ctx, tx)
	tx.done = true
	if err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return errs.E(errs.Unavailable, "store.Write", "commit failed", err)
	}
	tx.runAfterCommit()
	return nil
}

// Tx is a transaction-bound handle, valid only inside the closure it was
// passed to. Queries use '?' placeholders.
type Tx struct {
	db          *DB
	q           *sql.Tx
	pool        *sql.DB // the pool q came from, for prepared statements
	done        bool
	afterCommit []func()
}

// AfterCommit registers fn to run once the transaction has committed (never
// if it rolls back). Caches that mirror database state use it so they are
// only changed by changes that really happened.
func (tx *Tx) AfterCommit(fn func()) {
	tx.check()
	tx.afterCommit = append(tx.afterCommit, fn)
}

func (tx *Tx) runAfterCommit() {
	for _, fn := range tx.afterCommit {
		fn()
	}
}

// Dialect reports the database dialect, for the rare statement that differs.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Exec runs a statement.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.check()
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.q.ExecContext(ctx, tx.db.bind(query), args...)
}

// Query runs a query returning rows.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.check()
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.q.QueryContext(ctx, tx.db.bind(query), args...)
}

// QueryRow runs a query returning at most one row.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	tx.check()
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.q.QueryRowContext(ctx, tx.db.bind(query), args...)
}

// stmt returns query prepared once per SQLite pool and bound to this
// transaction, or nil to run it unprepared. The SQLite driver would
// otherwise parse every statement on every call, which costs more than
// running it. (pgx caches prepared statements by itself.)
//
// A statement seen for the first time runs unprepared and is prepared in the
// background: preparing needs a free connection, and the only writer
// connection is the one this transaction holds.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.db.dialect != SQLite {
		return nil
	}
	cache := &tx.db.readStmts
	if tx.pool == tx.db.write {
		cache = &tx.db.writeStmts
	}
	v, ok := cache.Load(query)
	if !ok {
		if _, loaded := cache.LoadOrStore(query, nil); !loaded {
			tx.db.preparing.Add(1)
			go func() {
				defer tx.db.preparing.Done()
				prepare(tx.pool, cache, query)
			}()
		}
		return nil
	}
	st, _ := v.(*sql.Stmt)
	if st == nil {
		return nil // being prepared
	}
	return tx.q.StmtContext(ctx, st)
}

func prepare(pool *sql.DB, cache *sync.Map, query string) {
	st, err := pool.Prepare(query)
	if err != nil {
		return // stays unprepared; the error shows where it runs
	}
	cache.Store(query, st)
}

func (tx *Tx) check() {
	if tx.done {
		panic("store: Tx used after its transaction ended")
	}
}

// bind turns '?' placeholders into PostgreSQL's $1, $2 ... Queries never
// contain a literal '?' (values are always parameters).
func (db *DB) bind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	if v, ok := db.rebind.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	db.rebind.Store(q, out)
	return out
}

// IsNoRows reports whether err means a query found no row.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// RedactURL returns a database URL with its password replaced, for messages.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
