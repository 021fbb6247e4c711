package app

// Backups (issue 8): the instance-level side of internal/backup — which
// database and root key a backup is taken of, the audit entries and alerts
// of every backup operation, the restore that applies tombstones before a
// restored instance is opened by anyone, the disaster-recovery drill that
// serves a restored instance on a loopback port, and the scheduler that
// serve starts.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// BackupAlerter returns the alerter of the backup.alert_webhook setting.
func BackupAlerter(cfg config.Config, log *slog.Logger) *backup.Alerter {
	return backup.NewAlerter(cfg.Backup.AlertWebhook, log, nil)
}

// TombstoneAppliers is how a restored instance destroys again what was
// destroyed after its backup: organizations are shredded and their rows
// deleted. Services that destroy other kinds of data (revoked secrets)
// add their applier here.
func (d *Data) TombstoneAppliers() backup.Appliers {
	return backup.Appliers{
		tombstone.Org:    d.applyOrgTombstone,
		tombstone.Secret: d.Secrets.ApplyTombstone,
	}
}

// TombstoneSources lists what every backup republishes to its target:
// shredded organizations and revoked secrets.
func (d *Data) TombstoneSources() []backup.TombstoneSource {
	return append(backup.DefaultTombstoneSources(), func(ctx context.Context, _ *store.Tx) ([]tombstone.Tombstone, error) {
		return d.Secrets.Tombstones(ctx)
	})
}

// backupSource says what a backup of d copies.
func (d *Data) backupSource() backup.Source {
	src := backup.Source{DB: d.DB}
	if d.Config.IsPostgres() {
		src.PostgresURL = d.Config.DatabaseURL
	} else {
		src.SQLitePath = d.Config.SQLitePath()
	}
	return src
}

// CreateBackup takes a backup of d to the configured target, encrypted to
// recipients (default backup.recipients), and records it in the audit log;
// a failure is recorded and raised as an alert.
func (d *Data) CreateBackup(ctx context.Context, actor string, recipients []string, progress func(int64)) (backup.Info, error) {
	start := d.Now()
	info, err := d.createBackup(ctx, recipients, progress)
	details := map[string]any{"duration_ms": d.Now().Sub(start).Milliseconds()}
	outcome := audit.Success
	if err != nil {
		outcome = audit.Failure
		BackupAlerter(d.Config, d.Log).Alert(ctx, "backup.create", err)
	} else {
		details["backup"] = info.ID
		details["size"] = info.Size
		details["rows"] = info.Rows
		details["recipients"] = info.Recipients
	}
	if aerr := d.Audit.Record(context.WithoutCancel(ctx), d.DB, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "backup.create",
		Outcome: outcome, Details: details}); aerr != nil && err == nil {
		err = aerr
	}
	return info, err
}

func (d *Data) createBackup(ctx context.Context, recipients []string, progress func(int64)) (backup.Info, error) {
	if len(recipients) == 0 {
		recipients = d.Config.Backup.Recipients
	}
	rs, err := backup.ParseRecipients(recipients)
	if err != nil {
		return backup.Info{}, err
	}
	if len(rs) == 0 {
		return backup.Info{}, backup.ErrNoRecipients
	}
	t, err := backup.TargetFromConfig(d.Config)
	if err != nil {
		return backup.Info{}, err
	}
	if dt, ok := t.(*backup.DirTarget); ok && dt.SameTreeAs(d.Config.DataDir) {
		d.Log.Warn("backups are written inside the data directory: a lost disk takes them along; set backup.target to another disk or s3://bucket/prefix",
			"target", dt.String())
	}
	return backup.Create(ctx, d.backupSource(), t, rs, backup.CreateOptions{
		Version: Version, Now: d.Now, Progress: progress, Tombstones: d.TombstoneSources(),
	})
}

// PruneBackups deletes the backups backup.retention.* does not keep.
func (d *Data) PruneBackups(ctx context.Context, actor string) ([]backup.Info, error) {
	var deleted []backup.Info
	t, err := backup.TargetFromConfig(d.Config)
	if err == nil {
		deleted, err = backup.Prune(ctx, t, backup.PolicyFromConfig(d.Config), d.Now(), time.Local)
	}
	ids := make([]string, len(deleted))
	for i, b := range deleted {
		ids[i] = b.ID
	}
	outcome := audit.Success
	if err != nil {
		outcome = audit.Failure
		BackupAlerter(d.Config, d.Log).Alert(ctx, "backup.prune", err)
	}
	if aerr := d.Audit.Record(context.WithoutCancel(ctx), d.DB, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "backup.prune",
		Outcome: outcome, Details: map[string]any{"deleted": len(deleted), "backups": strings.Join(ids, ",")}}); aerr != nil && err == nil {
		err = aerr
	}
	return deleted, err
}

// VerifyBackup verifies backup id (see backup.Verify) with this instance's
// root key, records the result next to the backup and in the audit log.
func VerifyBackup(ctx context.Context, cfg config.Config, log *slog.Logger, live *Data, actor, id string, ids []age.Identity, progress func(int64)) (backup.Verification, error) {
	v, err := verifyBackup(ctx, cfg, id, ids, progress)
	recordOptional(ctx, live, log, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "backup.verify", Outcome: outcomeOf(err),
		Details: map[string]any{"backup": id, "tables": v.Tables, "rows": v.Rows, "audit_entries": v.AuditEntries, "duration_ms": v.DurationMS}})
	if err != nil {
		BackupAlerter(cfg, log).Alert(ctx, "backup.verify", err)
	}
	return v, err
}

func verifyBackup(ctx context.Context, cfg config.Config, id string, ids []age.Identity, progress func(int64)) (backup.Verification, error) {
	t, err := backup.TargetFromConfig(cfg)
	if err != nil {
		return backup.Verification{}, err
	}
	root, err := openRootKey(cfg, MustExist)
	if err != nil {
		return backup.Verification{}, err
	}
	opts := backup.VerifyOptions{RootKey: root, Progress: progress}
	if cfg.IsPostgres() {
		opts.PostgresURL = cfg.DatabaseURL
	}
	return backup.Verify(ctx, t, id, ids, opts)
}

func outcomeOf(err error) string {
	if err != nil {
		return audit.Failure
	}
	return audit.Success
}

// recordOptional appends e to the live instance's audit log when there is
// one (verify and drill also run on a machine where only the backups and
// the root key survived).
func recordOptional(ctx context.Context, live *Data, log *slog.Logger, e audit.Event) {
	if live == nil {
		log.Warn("no live instance: the audit entry of this operation is not written", "action", e.Action)
		return
	}
	if err := live.Audit.Record(context.WithoutCancel(ctx), live.DB, e); err != nil {
		log.Warn("cannot write the audit entry", "action", e.Action, "err", err)
	}
}

// RestoreResult describes a finished restore.
type RestoreResult struct {
	Backup      backup.Info `json:"backup"`
	Dir         string      `json:"dir"`
	DatabaseURL string      `json:"-"` // may hold a password
	Tombstones  int         `json:"tombstones_applied"`
	Tables      int         `json:"tables"`
	Rows        int64       `json:"rows"`
	DurationMS  int64       `json:"duration_ms"`
}

// RestoreBackup restores backup id from the target cfg names into a new
// instance in dir (and, for a PostgreSQL backup, the empty database or
// schema databaseURL), with the root key of cfg (keys.root_key_file or
// <data_dir>/root.key) copied to dir/root.key. Before returning it opens
// the new instance and applies every tombstone of the target, so the
// instance never serves data destroyed after the backup; then it records
// the restore in the new instance's audit log.
func RestoreBackup(ctx context.Context, cfg config.Config, log *slog.Logger, id string, ids []age.Identity, dir, databaseURL string, progress func(int64)) (RestoreResult, error) {
	start := time.Now()
	res, err := restoreBackup(ctx, cfg, log, id, ids, dir, databaseURL, progress)
	res.DurationMS = time.Since(start).Milliseconds()
	if err != nil {
		BackupAlerter(cfg, log).Alert(ctx, "backup.restore", err)
	}
	return res, err
}

func restoreBackup(ctx context.Context, cfg config.Config, log *slog.Logger, id string, ids []age.Identity, dir, databaseURL string, progress func(int64)) (RestoreResult, error) {
	t, err := backup.TargetFromConfig(cfg)
	if err != nil {
		return RestoreResult{}, err
	}
	// Read before the data: a restore that cannot read the tombstones must
	// not make an instance at all.
	ts, err := backup.ReadTombstones(ctx, t)
	if err != nil {
		return RestoreResult{}, err
	}
	r, err := backup.Restore(ctx, t, id, ids, backup.RestoreOptions{Dir: dir, PostgresURL: databaseURL, RootKeyFile: cfg.RootKeyPath(), Progress: progress})
	if err != nil {
		return RestoreResult{}, err
	}
	res := RestoreResult{Backup: r.Info, Dir: dir, DatabaseURL: databaseURL, Tables: len(r.Manifest.Tables), Rows: r.Manifest.Rows()}
	rcfg := RestoredConfig(cfg, dir, databaseURL)
	d, err := OpenData(ctx, rcfg, log, MustExist)
	if err == nil {
		res.Tombstones, err = backup.ApplyTombstones(ctx, d.DB, ts, d.TombstoneAppliers())
		if err == nil {
			err = d.Audit.Record(ctx, d.DB, audit.Event{Org: audit.PlatformOrg, Actor: "system", Action: "backup.restore",
				Details: map[string]any{"backup": r.Info.ID, "backup_created_at": r.Info.CreatedAt.Format(time.RFC3339),
					"tombstones_applied": res.Tombstones, "tables": res.Tables, "rows": res.Rows}})
		}
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		// The new instance may still hold data a tombstone destroys: it
		// must not be started. Remove what can be removed; say so.
		if databaseURL == "" {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				_ = os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
		return res, errs.E(errs.KindOf(err), "app.RestoreBackup", "the restored instance could not be completed and must not be used: "+errs.SafeMessage(err), err)
	}
	return res, nil
}

// RestoredConfig is cfg pointed at a restored instance in dir (and
// databaseURL for PostgreSQL), with its root key at dir/root.key.
func RestoredConfig(cfg config.Config, dir, databaseURL string) config.Config {
	c := cfg
	c.DataDir = dir
	c.DatabaseURL = databaseURL
	c.Keys.RootKeyFile = ""
	c.Backup.Target = cfg.BackupTarget()
	return c
}

// DrillResult is what a disaster-recovery drill proved. It is kept in the
// backup target (drills/latest.json) for the status and trust pages.
type DrillResult struct {
	OK              bool              `json:"ok"`
	Error           string            `json:"error,omitempty"`
	BackupID        string            `json:"backup_id"`
	BackupCreatedAt time.Time         `json:"backup_created_at"`
	StartedAt       time.Time         `json:"started_at"`
	RTOSeconds      float64           `json:"rto_seconds"` // from the start of the restore until /readyz answered ready
	RPOSeconds      float64           `json:"rpo_seconds"` // age of the restored data when the drill started
	Dialect         string            `json:"dialect"`
	Checks          map[string]string `json:"checks"`
	Tables          int               `json:"tables"`
	Rows            int64             `json:"rows"`
	Tombstones      int               `json:"tombstones_applied"`
	AuditEntries    int64             `json:"audit_entries"`
	SampleReads     int               `json:"sample_reads"`
}

// DRDrill restores the newest backup into a temporary directory (and, for
// PostgreSQL, a scratch schema in the instance's database), starts it on a
// random loopback port, probes /healthz and /readyz, reads samples (audit
// chains, every organization's keys, records), and reports RTO and RPO.
// The result goes to the target and, when live is not nil, to its audit log.
func DRDrill(ctx context.Context, cfg config.Config, log *slog.Logger, live *Data, actor string, ids []age.Identity) (DrillResult, error) {
	res, err := drill(ctx, cfg, log, ids)
	res.OK = err == nil
	if err != nil {
		res.Error = errs.SafeMessage(err)
		BackupAlerter(cfg, log).Alert(ctx, "backup.drill", err)
	}
	if t, terr := backup.TargetFromConfig(cfg); terr == nil {
		for _, name := range []string{"drills/" + res.StartedAt.UTC().Format("20060102T150405Z") + ".json", "drills/latest.json"} {
			if perr := putDrill(ctx, t, name, res); perr != nil {
				log.Warn("cannot store the drill result", "err", perr)
			}
		}
	}
	recordOptional(ctx, live, log, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "backup.drill", Outcome: outcomeOf(err),
		Details: map[string]any{"backup": res.BackupID, "rto_seconds": res.RTOSeconds, "rpo_seconds": res.RPOSeconds,
			"tables": res.Tables, "rows": res.Rows, "sample_reads": res.SampleReads}})
	return res, err
}

func putDrill(ctx context.Context, t backup.Target, name string, res DrillResult) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	_, err = t.Put(context.WithoutCancel(ctx), name, strings.NewReader(string(b)+"\n"))
	return err
}

// LatestDrill reads the newest drill result from the configured target.
func LatestDrill(ctx context.Context, cfg config.Config) (DrillResult, error) {
	var res DrillResult
	t, err := backup.TargetFromConfig(cfg)
	if err != nil {
		return res, err
	}
	r, err := t.Open(ctx, "drills/latest.json")
	if err != nil {
		return res, err
	}
	defer r.Close()
	err = json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&res)
	return res, err
}

func drill(ctx context.Context, cfg config.Config, log *slog.Logger, ids []age.Identity) (DrillResult, error) {
	res := DrillResult{StartedAt: time.Now().UTC(), Checks: map[string]string{}}
	t, err := backup.TargetFromConfig(cfg)
	if err != nil {
		return res, err
	}
	newest, err := backup.Newest(ctx, t)
	if err != nil {
		return res, err
	}
	res.BackupID, res.BackupCreatedAt, res.Dialect = newest.ID, newest.CreatedAt, newest.Dialect
	res.RPOSeconds = res.StartedAt.Sub(newest.CreatedAt).Seconds()
	tmp, err := os.MkdirTemp("", "rampart-drill-")
	if err != nil {
		return res, errs.E(errs.Unavailable, "app.DRDrill", "cannot create a temporary directory", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "data")
	var dbURL string
	if newest.Dialect == string(store.Postgres) {
		if !cfg.IsPostgres() {
			return res, errs.E(errs.Invalid, "app.DRDrill", "the newest backup is of a PostgreSQL instance: give --database-url of a database the drill may create a scratch schema in")
		}
		scratch, drop, err := backup.ScratchPostgres(ctx, cfg.DatabaseURL)
		if err != nil {
			return res, err
		}
		defer func() { _ = drop(context.WithoutCancel(ctx)) }()
		dbURL = scratch
	}
	rr, err := restoreBackup(ctx, cfg, log, newest.ID, ids, dir, dbURL, nil)
	res.Tables, res.Rows, res.Tombstones = rr.Tables, rr.Rows, rr.Tombstones
	if err != nil {
		return res, err
	}
	res.Checks["restore"] = "ok"

	dcfg := RestoredConfig(cfg, dir, dbURL)
	dcfg.Listen.HTTPS = "127.0.0.1:0"
	dcfg.Listen.HTTP = config.ListenOff
	dcfg.PublicURL = ""
	dcfg.TLS.CertFile, dcfg.TLS.KeyFile = "", ""
	dcfg.TLS.ACME.Domains = nil
	dcfg.SMTP.Host = ""          // mails of the drill instance stay in its outbox
	dcfg.Backup.Schedule = "off" // and it takes no backups of its own
	srv, err := Start(ctx, dcfg, log.With("instance", "dr-drill"), io.Discard)
	if err != nil {
		return res, err
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx) }()
	defer func() {
		stop()
		<-served
	}()
	client, err := drillClient(dir)
	if err != nil {
		return res, err
	}
	base := "https://" + srv.HTTPSAddr().String()
	for _, path := range []string{"/healthz", "/readyz"} {
		if err := probe(ctx, client, base+path); err != nil {
			res.Checks[path] = "failed"
			return res, err
		}
		res.Checks[path] = "ok"
	}
	res.RTOSeconds = time.Since(res.StartedAt).Seconds()

	d := srv.Data()
	rep, err := d.Audit.Verify(ctx, d.DB, audit.AllOrgs)
	if err == nil && !rep.OK() {
		err = errs.E(errs.Integrity, "app.DRDrill", "the audit log of the restored instance does not verify: "+rep.Problems[0].Message)
	}
	if err != nil {
		res.Checks["audit"] = "failed"
		return res, err
	}
	res.Checks["audit"] = "ok"
	res.AuditEntries = rep.Entries
	sts, err := d.Keys.Statuses(ctx)
	if err != nil {
		res.Checks["keys"] = "failed"
		return res, err
	}
	res.Checks["keys"] = "ok"
	res.SampleReads = len(sts)
	n, err := sampleRecords(ctx, d, 5)
	res.SampleReads += n
	if err != nil {
		res.Checks["records"] = "failed"
		return res, err
	}
	res.Checks["records"] = "ok"
	return res, nil
}

// drillClient trusts only the drill instance's own development certificate.
func drillClient(dir string) (*http.Client, error) {
	pemBytes, err := os.ReadFile(filepath.Join(dir, "tls", "dev-cert.pem")) // #nosec G304 -- inside the drill's temporary directory
	if err != nil {
		return nil, errs.E(errs.Unavailable, "app.drillClient", "the drill instance has no certificate", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12},
	}}, nil
}

func probe(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return errs.E("app.probe", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return errs.E(errs.Unavailable, "app.probe", "the restored instance does not answer "+req.URL.Path, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errs.E(errs.Unavailable, "app.probe", fmt.Sprintf("the restored instance answered %s with %d", req.URL.Path, resp.StatusCode))
	}
	return nil
}

// sampleRecords decrypts the first records of up to max collections, as an
// operator of each organization would; shredded organizations are expected
// to fail with errs.Shredded and are skipped.
func sampleRecords(ctx context.Context, d *Data, max int) (int, error) {
	type coll struct{ org, name string }
	var colls []coll
	err := d.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT DISTINCT org_id, collection FROM records ORDER BY org_id, collection")
		if err != nil {
			return errs.E(errs.Unavailable, "app.sampleRecords", "cannot list collections", err)
		}
		defer rows.Close()
		for rows.Next() && len(colls) < max {
			var c coll
			if err := rows.Scan(&c.org, &c.name); err != nil {
				return err
			}
			colls = append(colls, c)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range colls {
		p := authz.Principal{UserID: "dr-drill", OrgID: c.org, Kind: authz.KindOperator, Roles: []authz.Role{{Name: authz.RoleOwner, Builtin: true}}}
		page, err := d.Records.List(ctx, p, c.name, records.ListOptions{Limit: 3})
		if errs.KindOf(err) == errs.Shredded {
			continue
		}
		if err != nil {
			return n, err
		}
		n += len(page.Items)
	}
	return n, nil
}

// startBackupSchedule runs create + prune at backup.schedule until ctx
// ends. Without recipients it warns once and does not run.
func (s *Server) startBackupSchedule(ctx context.Context) {
	cfg, log := s.data.Config, s.data.Log
	sched, err := backup.ParseSchedule(cfg.Backup.Schedule)
	if err != nil || sched.Off() {
		log.Info("scheduled backups are off", "schedule", cfg.Backup.Schedule)
		return
	}
	if len(cfg.Backup.Recipients) == 0 {
		log.Warn("scheduled backups are NOT running: backup.recipients (RAMPART_BACKUP_RECIPIENTS) is empty; make a key pair with `rampart backup keygen`",
			"schedule", sched.String())
		return
	}
	log.Info("scheduled backups", "schedule", sched.String(), "target", cfg.BackupTarget())
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		backup.RunSchedule(ctx, sched, time.Now, func(ctx context.Context, due time.Time) {
			const actor = "system:backup-schedule"
			release, run := s.data.claimScheduledBackup(ctx, due)
			defer release()
			if !run {
				return
			}
			info, err := s.data.CreateBackup(ctx, actor, nil, nil)
			if err != nil {
				return // logged, audited and alerted
			}
			log.Info("scheduled backup done", "backup", info.ID, "size", info.Size)
			if deleted, err := s.data.PruneBackups(ctx, actor); err == nil && len(deleted) > 0 {
				log.Info("old backups pruned", "deleted", len(deleted))
			}
		})
	}()
}

// scheduledBackupLock is the PostgreSQL advisory lock key of the scheduled
// backup ("rampart-backup" in ASCII, as a bigint).
const scheduledBackupLock = 0x72616d706172742d

// claimScheduledBackup decides whether this node takes the scheduled
// backup due at due: with several nodes (PostgreSQL, one shared target)
// every node wakes up, one takes a session advisory lock, and a node that
// finds a backup in the target taken since the moment was due skips. The
// returned release ends the lock.
func (d *Data) claimScheduledBackup(ctx context.Context, due time.Time) (release func(), run bool) {
	release = func() {}
	if d.Config.IsPostgres() {
		conn, err := pgx.Connect(ctx, d.Config.DatabaseURL)
		if err != nil {
			d.Log.Warn("scheduled backup: cannot take the cluster lock; backing up anyway", "err", err)
		} else {
			var got bool
			if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(scheduledBackupLock)).Scan(&got); err != nil || !got {
				_ = conn.Close(context.WithoutCancel(ctx))
				if err != nil {
					d.Log.Warn("scheduled backup: cannot take the cluster lock; skipped", "err", err)
				} else {
					d.Log.Info("scheduled backup: another node is taking it")
				}
				return release, false
			}
			release = func() { _ = conn.Close(context.WithoutCancel(ctx)) } // closing the session frees the lock
		}
	}
	if t, err := backup.TargetFromConfig(d.Config); err == nil {
		if newest, err := backup.Newest(ctx, t); err == nil && !newest.CreatedAt.Before(due.Add(-time.Minute)) {
			d.Log.Info("scheduled backup: already taken by another node", "backup", newest.ID)
			return release, false
		}
	}
	return release, true
}
