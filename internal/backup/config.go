package backup

import (
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// TargetFromConfig opens the target backup.target names: s3://bucket/prefix
// (with backup.s3.*) or a directory (default <data_dir>/backups).
func TargetFromConfig(cfg config.Config) (Target, error) {
	where := cfg.BackupTarget()
	if bucket, prefix, ok := ParseS3URL(where); ok {
		s := cfg.Backup.S3
		return NewS3Target(S3Config{Endpoint: s.Endpoint, Region: s.Region, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
			Insecure: s.Insecure, Bucket: bucket, Prefix: prefix})
	}
	if len(where) > 5 && where[:5] == "s3://" {
		return nil, errs.E(errs.Invalid, "backup.TargetFromConfig", "backup.target: "+where+" is not s3://bucket/prefix")
	}
	return NewDirTarget(where)
}

// PolicyFromConfig returns the retention policy of backup.retention.*.
func PolicyFromConfig(cfg config.Config) Policy {
	r := cfg.Backup.Retention
	return Policy{MinAge: r.MinAge, Daily: r.Daily, Weekly: r.Weekly, Monthly: r.Monthly}
}

// NewPublisher returns the tombstone publisher on the configured backup
// target, for the server to call after every destruction.
func NewPublisher(cfg config.Config) (tombstone.Publisher, error) {
	t, err := TargetFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return NewTargetPublisher(t), nil
}
