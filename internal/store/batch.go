package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/rampart-platform/rampart/internal/errs"
)

// maxBatch bounds how many closures share one SQLite commit, so one commit
// never holds the write lock for long.
const maxBatch = 512

// batcher is SQLite's single writer: it runs queued write closures in one
// transaction per batch (group commit), each inside its own savepoint so one
// closure's failure undoes only its own changes.
type batcher struct {
	db   *DB
	jobs chan *job
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

type job struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *Tx) error
	done chan error
}

func newBatcher(db *DB) *batcher {
	b := &batcher{db: db, jobs: make(chan *job, maxBatch), quit: make(chan struct{})}
	b.wg.Add(1)
	go b.loop()
	return b
}

var errClosed = errs.E(errs.Unavailable, "store.Write", "database is closed")

func (b *batcher) submit(ctx context.Context, fn func(context.Context, *Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case b.jobs <- j:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the closure may
	// already be committed, and the caller must not be told otherwise.
	return <-j.done
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.quit) })
	b.wg.Wait()
}

func (b *batcher) loop() {
	defer b.wg.Done()
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case j := <-b.jobs:
			batch = append(batch[:0], j)
		case <-b.quit:
			// Finish what was queued before Close.
			for {
				select {
				case j := <-b.jobs:
					b.run([]*job{j})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		b.run(batch)
	}
}

// run commits one batch. Each job learns its own outcome.
func (b *batcher) run(batch []*job) {
	results := make([]error, len(batch))
	txs := make([]*Tx, len(batch))
	sqlTx, err := b.db.write.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range batch {
			j.done <- errs.E(errs.Unavailable, "store.Write", "database unavailable", err)
		}
		return
	}
	ctx := context.Background()
	broken := error(nil)
	for i, j := range batch {
		if broken != nil {
			results[i] = broken
			continue
		}
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
			broken = errs.E(errs.Unavailable, "store.Write", "database unavailable", err)
			results[i] = broken
			continue
		}
		tx := &Tx{db: b.db, q: sqlTx, pool: b.db.write}
		txs[i] = tx
		results[i] = runJob(j, tx)
		tx.done = true
		if results[i] != nil {
			if _, err := sqlTx.ExecContext(ctx, "ROLLBACK TO job"); err != nil {
				broken = errs.E(errs.Unavailable, "store.Write", "transaction aborted", err)
			}
		}
		if broken == nil {
			if _, err := sqlTx.ExecContext(ctx, "RELEASE job"); err != nil {
				broken = errs.E(errs.Unavailable, "store.Write", "transaction aborted", err)
			}
		}
	}
	if broken != nil {
		_ = sqlTx.Rollback()
		for i, j := range batch {
			if results[i] == nil {
				results[i] = broken
			}
			j.done <- results[i]
		}
		return
	}
	if err := sqlTx.Commit(); err != nil {
		cerr := errs.E(errs.Unavailable, "store.Write", "commit failed", err)
		for i := range results {
			if results[i] == nil {
				results[i] = cerr
			}
		}
	}
	for i, j := range batch {
		if results[i] == nil {
			txs[i].runAfterCommit()
		}
		j.done <- results[i]
	}
}

// runJob calls the closure, turning a panic into an error so one bad
// closure cannot take the writer (and every other caller) down.
func runJob(j *job, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.E("store.Write", fmt.Errorf("panic in write transaction: %v", r))
		}
	}()
	return j.fn(j.ctx, tx)
}
