// Package sqlitedrivers compares the two SQLite drivers Rampart could use
// through database/sql: modernc.org/sqlite (pure Go, what internal/store uses
// today) and github.com/mattn/go-sqlite3 (cgo). It is a separate module so
// the cgo driver never enters the main module's build.
//
// Both drivers get the same schema and the same connection setup as
// internal/store: WAL, synchronous=FULL, foreign_keys=1, busy_timeout=10000,
// temp_store=MEMORY, cache_size=-32768; one writer connection with BEGIN
// IMMEDIATE; a reader pool of 8 query_only connections; prepared statements.
//
// Run (see README.md):
//
//	CGO_ENABLED=1 go test -run '^$' -bench . -benchtime 3s -count 3
package sqlitedrivers

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
	_ "modernc.org/sqlite" // registers "sqlite"
)

const (
	nOrgs         = 50
	nRecords      = 50_000 // rows in records (1000 per org)
	recordBlob    = 1024   // bytes of the data BLOB of a record
	nAuditRows    = 100_000
	listPage      = 20
	readPool      = 8  // reader connections, as store.Options.MaxOpenConns default
	batchSize     = 64 // inserts per transaction in the group-commit benchmark
	readerThreads = 4  // b.SetParallelism: 4 x GOMAXPROCS goroutines (8 on 2 cores) = pool size
)

// mattnDriver is go-sqlite3 with a hook for the one pragma its DSN has no
// key for (temp_store), so both drivers run with identical settings.
const mattnDriver = "sqlite3_rampart"

func init() {
	sql.Register(mattnDriver, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA temp_store=MEMORY", nil)
			return err
		},
	})
}

type driver struct {
	name   string // sub-benchmark name
	sqlDrv string // database/sql driver name
	dsn    func(path string, readOnly bool) string
}

var drivers = []driver{
	{name: "modernc", sqlDrv: "sqlite", dsn: moderncDSN},
	{name: "mattn", sqlDrv: mattnDriver, dsn: mattnDSN},
}

// moderncDSN is internal/store.sqliteDSN, verbatim.
func moderncDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
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
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// mattnDSN is the same connection setup in go-sqlite3's keys
// (temp_store comes from the ConnectHook above).
func mattnDSN(path string, readOnly bool) string {
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_busy_timeout=10000&_cache_size=-32768"
	if readOnly {
		return dsn + "&_query_only=1"
	}
	return dsn + "&_txlock=immediate"
}

const schema = `
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE records (
    id         TEXT PRIMARY KEY,              -- UUIDv7-style text, sorts by creation
    org_id     TEXT NOT NULL REFERENCES organizations(id),
    created_at INTEGER NOT NULL,
    name       TEXT NOT NULL,
    data       BLOB NOT NULL                  -- ~1 KiB (a ciphertext)
);
CREATE INDEX records_org ON records (org_id, id);
-- internal/store/migrations/sqlite/00001_foundation.sql's audit_events,
-- less ip and user_agent: 10 columns, 8 text/integer + 2 x 32-byte BLOBs.
CREATE TABLE audit_events (
    org_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL,
    PRIMARY KEY (org_id, seq)
);
`

const (
	qPoint  = `SELECT id, org_id, created_at, name, data FROM records WHERE id = ?`
	qList   = `SELECT id, org_id, created_at, name, data FROM records WHERE org_id = ? AND id > ? ORDER BY id LIMIT 20`
	qInsert = `INSERT INTO records (id, org_id, created_at, name, data) VALUES (?, ?, ?, ?, ?)`
	qScan   = `SELECT org_id, seq, at, actor, action, target, outcome, details, prev_hash, hash FROM audit_events WHERE org_id = ? ORDER BY seq`
)

// handle is an open database as internal/store opens one.
type handle struct {
	write *sql.DB // one connection, BEGIN IMMEDIATE
	read  *sql.DB // readPool query_only connections
}

func (h *handle) Close() {
	_ = h.read.Close()
	_ = h.write.Close()
}

func open(tb testing.TB, d driver, path string) *handle {
	tb.Helper()
	w, err := sql.Open(d.sqlDrv, d.dsn(path, false))
	if err != nil {
		tb.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.Ping(); err != nil {
		tb.Fatal(err)
	}
	r, err := sql.Open(d.sqlDrv, d.dsn(path, true))
	if err != nil {
		tb.Fatal(err)
	}
	r.SetMaxOpenConns(readPool)
	r.SetMaxIdleConns(readPool)
	return &handle{write: w, read: r}
}

// newID returns a 36-character UUIDv7-shaped id whose order is seq's order.
func newID(rng *rand.Rand, seq int64) string {
	ms := 1_700_000_000_000 + seq
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x",
		uint32(ms>>16), uint16(ms), rng.Uint32()&0xfff, 0x8000|rng.Uint32()&0x3fff, rng.Uint64()&0xffffffffffff)
}

func orgID(i int) string { return fmt.Sprintf("org_%04d", i) }

func createSchema(tb testing.TB, h *handle) {
	tb.Helper()
	if _, err := h.write.Exec(schema); err != nil {
		tb.Fatal(err)
	}
	tx, err := h.write.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	for i := range nOrgs {
		if _, err := tx.Exec(`INSERT INTO organizations VALUES (?, ?, ?, ?)`, orgID(i), fmt.Sprintf("slug-%d", i), fmt.Sprintf("Org %d", i), int64(i)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// fixture is the read-side database of one driver, built once per process.
type fixture struct {
	h     *handle
	ids   []string   // every record id
	byOrg [][]string // record ids per org, ascending
}

var (
	fixMu    sync.Mutex
	fixtures = map[string]*fixture{}
	fixDir   string // on the real disk (os.TempDir, ext4 here), removed by TestMain
)

func TestMain(m *testing.M) {
	var err error
	fixDir, err = os.MkdirTemp("", "sqlitedrivers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	fixMu.Lock()
	for _, f := range fixtures {
		f.h.Close()
	}
	fixMu.Unlock()
	_ = os.RemoveAll(fixDir)
	os.Exit(code)
}

func getFixture(tb testing.TB, d driver) *fixture {
	tb.Helper()
	fixMu.Lock()
	defer fixMu.Unlock()
	if f := fixtures[d.name]; f != nil {
		return f
	}
	h := open(tb, d, filepath.Join(fixDir, d.name+".db"))
	createSchema(tb, h)
	rng := rand.New(rand.NewPCG(1, 2)) // same content for both drivers
	f := &fixture{h: h, byOrg: make([][]string, nOrgs)}

	tx, err := h.write.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	ins, err := tx.Prepare(qInsert)
	if err != nil {
		tb.Fatal(err)
	}
	blob := make([]byte, recordBlob)
	for i := range nRecords {
		id := newID(rng, int64(i))
		org := i % nOrgs
		for j := range blob {
			blob[j] = byte(rng.Uint32())
		}
		if _, err := ins.Exec(id, orgID(org), int64(i), fmt.Sprintf("record %d", i), blob); err != nil {
			tb.Fatal(err)
		}
		f.ids = append(f.ids, id)
		f.byOrg[org] = append(f.byOrg[org], id)
	}
	auditIns, err := tx.Prepare(`INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	prev := make([]byte, 32)
	for seq := 1; seq <= nAuditRows; seq++ {
		hash := make([]byte, 32)
		for j := range hash {
			hash[j] = byte(rng.Uint32())
		}
		if _, err := auditIns.Exec("org_audit", seq, int64(1_700_000_000_000_000+seq),
			"user:01J9Z3Q4W5E6R7T8Y9U0I1O2P3", "record.update", fmt.Sprintf("collection/posts/record/%d", seq),
			"success", `{"fields":["title","body"],"request_id":"req_0123456789abcdef"}`, prev, hash); err != nil {
			tb.Fatal(err)
		}
		prev = hash
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := h.write.Exec(`ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		tb.Fatal(err)
	}
	fixtures[d.name] = f
	return f
}

// TestPragmas checks that both drivers really run with the settings the
// benchmarks claim, on the writer and on a reader connection.
func TestPragmas(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := open(t, d, filepath.Join(t.TempDir(), "p.db"))
			defer h.Close()
			var ver string
			if err := h.write.QueryRow(`SELECT sqlite_version()`).Scan(&ver); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: SQLite %s", d.name, ver)
			for _, c := range []struct {
				db        *sql.DB
				queryOnly string
			}{{h.write, "0"}, {h.read, "1"}} {
				want := map[string]string{
					"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1",
					"busy_timeout": "10000", "temp_store": "2", "cache_size": "-32768",
					"query_only": c.queryOnly,
				}
				for p, w := range want {
					var got string
					if err := c.db.QueryRow("PRAGMA " + p).Scan(&got); err != nil {
						t.Fatal(p, err)
					}
					if got != w {
						t.Errorf("PRAGMA %s = %s, want %s (query_only=%s conn)", p, got, w, c.queryOnly)
					}
				}
			}
			// BEGIN IMMEDIATE on the writer: a second writer must wait, not upgrade.
			createSchema(t, h)
			if _, err := h.write.Exec(`INSERT INTO records VALUES ('x', 'no-such-org', 0, '', x'00')`); err == nil {
				t.Error("foreign key not enforced")
			}
		})
	}
}

type recordRow struct {
	id, org, name string
	created       int64
	data          []byte
}

// BenchmarkPointRead: a record by primary key through a prepared statement
// on the 8-connection reader pool, 8 goroutines.
func BenchmarkPointRead(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			f := getFixture(b, d)
			st, err := f.h.read.Prepare(qPoint)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var seed sync.Mutex
			s := uint64(0)
			b.SetParallelism(readerThreads)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				seed.Lock()
				s++
				rng := rand.New(rand.NewPCG(s, 7))
				seed.Unlock()
				var r recordRow
				for pb.Next() {
					id := f.ids[rng.IntN(len(f.ids))]
					if err := st.QueryRow(id).Scan(&r.id, &r.org, &r.created, &r.name, &r.data); err != nil {
						b.Error(err)
						return
					}
					if len(r.data) != recordBlob {
						b.Errorf("blob %d bytes", len(r.data))
						return
					}
				}
			})
			reportRate(b, cpu0, 1, "reads/s")
		})
	}
}

// BenchmarkPointReadTx: the same read the way store.DB.Read runs it:
// BEGIN on a reader, the cached statement bound to the transaction, COMMIT.
func BenchmarkPointReadTx(b *testing.B) {
	ctx := context.Background()
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			f := getFixture(b, d)
			st, err := f.h.read.Prepare(qPoint)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var seed sync.Mutex
			s := uint64(0)
			b.SetParallelism(readerThreads)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				seed.Lock()
				s++
				rng := rand.New(rand.NewPCG(s, 8))
				seed.Unlock()
				var r recordRow
				for pb.Next() {
					id := f.ids[rng.IntN(len(f.ids))]
					tx, err := f.h.read.BeginTx(ctx, nil)
					if err != nil {
						b.Error(err)
						return
					}
					if err := tx.StmtContext(ctx, st).QueryRowContext(ctx, id).Scan(&r.id, &r.org, &r.created, &r.name, &r.data); err != nil {
						b.Error(err)
						return
					}
					if err := tx.Commit(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b, cpu0, 1, "reads/s")
		})
	}
}

// BenchmarkList20: one page of 20 records of an org by keyset cursor,
// through a prepared statement, 8 goroutines on the reader pool.
func BenchmarkList20(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			f := getFixture(b, d)
			st, err := f.h.read.Prepare(qList)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var seed sync.Mutex
			s := uint64(0)
			b.SetParallelism(readerThreads)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				seed.Lock()
				s++
				rng := rand.New(rand.NewPCG(s, 9))
				seed.Unlock()
				page := make([]recordRow, 0, listPage)
				for pb.Next() {
					org := rng.IntN(nOrgs)
					ids := f.byOrg[org]
					cursor := "" // first page, or after a random row that leaves >= 20 rows
					if k := rng.IntN(len(ids) - listPage + 1); k > 0 {
						cursor = ids[k-1]
					}
					rows, err := st.Query(orgID(org), cursor)
					if err != nil {
						b.Error(err)
						return
					}
					page = page[:0]
					for rows.Next() {
						var r recordRow
						if err := rows.Scan(&r.id, &r.org, &r.created, &r.name, &r.data); err != nil {
							b.Error(err)
							rows.Close()
							return
						}
						page = append(page, r)
					}
					if err := rows.Err(); err != nil {
						b.Error(err)
						return
					}
					rows.Close()
					if len(page) != listPage {
						b.Errorf("page of %d rows", len(page))
						return
					}
				}
			})
			reportRate(b, cpu0, 1, "pages/s")
		})
	}
}

// insertDB is a fresh database (b.TempDir, real disk) for the write benchmarks.
func insertDB(b *testing.B, d driver) (*handle, *sql.Stmt) {
	h := open(b, d, filepath.Join(b.TempDir(), "w.db"))
	createSchema(b, h)
	st, err := h.write.Prepare(qInsert)
	if err != nil {
		b.Fatal(err)
	}
	return h, st
}

// BenchmarkInsertTxPerRow: one durable transaction (BEGIN IMMEDIATE, INSERT,
// COMMIT with fsync) per row, serial.
func BenchmarkInsertTxPerRow(b *testing.B) {
	ctx := context.Background()
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			h, st := insertDB(b, d)
			defer h.Close()
			defer st.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			blob := make([]byte, recordBlob)
			for j := range blob {
				blob[j] = byte(rng.Uint32())
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				tx, err := h.write.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, newID(rng, int64(i)), orgID(i%nOrgs), int64(i), "record", blob); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, cpu0, 1, "rows/s")
		})
	}
}

// BenchmarkInsertBatch64: group commit as internal/store's batcher does it:
// 64 inserts per durable transaction, each in its own SAVEPOINT/RELEASE.
// One op = one row.
func BenchmarkInsertBatch64(b *testing.B) {
	ctx := context.Background()
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			h, st := insertDB(b, d)
			defer h.Close()
			defer st.Close()
			rng := rand.New(rand.NewPCG(5, 6))
			blob := make([]byte, recordBlob)
			for j := range blob {
				blob[j] = byte(rng.Uint32())
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; {
				tx, err := h.write.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				txSt := tx.StmtContext(ctx, st)
				for k := 0; k < batchSize && i < b.N; k, i = k+1, i+1 {
					if _, err := tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
						b.Fatal(err)
					}
					if _, err := txSt.ExecContext(ctx, newID(rng, int64(i)), orgID(i%nOrgs), int64(i), "record", blob); err != nil {
						b.Fatal(err)
					}
					if _, err := tx.ExecContext(ctx, "RELEASE job"); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, cpu0, 1, "rows/s")
		})
	}
}

// BenchmarkCreateJobBatch64: what one "create record" write job costs inside
// the batcher with the audit chain on: SAVEPOINT, insert the record (1 KiB
// BLOB), read the org's audit head, append an audit event (2 x 32-byte
// hashes), move the head, RELEASE; 64 jobs per durable transaction.
// One op = one job (one created record).
func BenchmarkCreateJobBatch64(b *testing.B) {
	ctx := context.Background()
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			h, ins := insertDB(b, d)
			defer h.Close()
			defer ins.Close()
			if _, err := h.write.Exec(`CREATE TABLE audit_heads (org_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			for i := range nOrgs {
				if _, err := h.write.Exec(`INSERT INTO audit_heads VALUES (?, 0, ?)`, orgID(i), make([]byte, 32)); err != nil {
					b.Fatal(err)
				}
			}
			prep := func(q string) *sql.Stmt {
				st, err := h.write.Prepare(q)
				if err != nil {
					b.Fatal(err)
				}
				return st
			}
			head := prep(`SELECT seq, hash FROM audit_heads WHERE org_id = ?`)
			audit := prep(`INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			move := prep(`UPDATE audit_heads SET seq = ?, hash = ? WHERE org_id = ?`)
			defer head.Close()
			defer audit.Close()
			defer move.Close()
			rng := rand.New(rand.NewPCG(7, 8))
			blob := make([]byte, recordBlob)
			for j := range blob {
				blob[j] = byte(rng.Uint32())
			}
			newHash := make([]byte, 32)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; {
				tx, err := h.write.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				tIns, tHead, tAudit, tMove := tx.StmtContext(ctx, ins), tx.StmtContext(ctx, head), tx.StmtContext(ctx, audit), tx.StmtContext(ctx, move)
				for k := 0; k < batchSize && i < b.N; k, i = k+1, i+1 {
					org := orgID(rng.IntN(nOrgs))
					id := newID(rng, int64(i))
					if _, err := tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
						b.Fatal(err)
					}
					if _, err := tIns.ExecContext(ctx, id, org, int64(i), "record", blob); err != nil {
						b.Fatal(err)
					}
					var seq int64
					var prev []byte
					if err := tHead.QueryRowContext(ctx, org).Scan(&seq, &prev); err != nil {
						b.Fatal(err)
					}
					binaryPut(newHash, uint64(i))
					if _, err := tAudit.ExecContext(ctx, org, seq+1, int64(i), "user:01J9Z3Q4W5E6R7T8Y9U0I1O2P3", "record.create",
						"collection/posts/record/"+id, "success", `{"request_id":"req_0123456789abcdef"}`, prev, newHash); err != nil {
						b.Fatal(err)
					}
					if _, err := tMove.ExecContext(ctx, seq+1, newHash, org); err != nil {
						b.Fatal(err)
					}
					if _, err := tx.ExecContext(ctx, "RELEASE job"); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, cpu0, 1, "creates/s")
		})
	}
}

// binaryPut fills h with bytes derived from v (a stand-in for a SHA-256).
func binaryPut(h []byte, v uint64) {
	for j := range h {
		h[j] = byte(v >> (8 * (j % 8)))
	}
}

// BenchmarkAuditScan: read one 100k-row audit chain in seq order, as chain
// verification does. One op = the whole scan.
func BenchmarkAuditScan(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			f := getFixture(b, d)
			st, err := f.h.read.Prepare(qScan)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				rows, err := st.Query("org_audit")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				var (
					org, actor, action, target, outcome, details string
					seq, at                                      int64
					prev, hash                                   []byte
				)
				for rows.Next() {
					if err := rows.Scan(&org, &seq, &at, &actor, &action, &target, &outcome, &details, &prev, &hash); err != nil {
						b.Fatal(err)
					}
					if len(hash) != 32 || len(prev) != 32 {
						b.Fatal("bad hash length")
					}
					n++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				if n != nAuditRows {
					b.Fatalf("scanned %d rows", n)
				}
			}
			reportRate(b, cpu0, nAuditRows, "rows/s")
		})
	}
}

// reportRate adds per-op units per second of wall time (for the parallel
// benchmarks: across all goroutines, i.e. what the 2 cores deliver), and
// cpu-ns/op: user+system CPU time of the whole process per op since cpu0.
// CPU time per op is much less disturbed than wall time when other
// processes compete for the 2 cores, and it is what a request pays.
func reportRate(b *testing.B, cpu0 time.Duration, perOp int, unit string) {
	if el := b.Elapsed(); el > 0 {
		b.ReportMetric(float64(b.N)*float64(perOp)/el.Seconds(), unit)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
