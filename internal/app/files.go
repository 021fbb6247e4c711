package app

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/files"
)

// File janitor timing: an upload still incomplete a day after it started
// is abandoned (a crash or a lost client whose own cleanup failed).
const (
	fileJanitorEvery      = time.Hour
	fileUploadAbandoned   = 24 * time.Hour
	fileStoreCheckTimeout = 10 * time.Second
)

// openFiles builds the file service on the configured blob store. With
// files.store s3 the bucket is checked now, so a wrong endpoint, bucket or
// key stops start-up with a clear message instead of failing the first
// upload.
func openFiles(ctx context.Context, cfg config.Config, d *Data) (*files.Service, error) {
	var target blob.Store = blob.NewDatabase(d.DB)
	var others []blob.Store
	if cfg.Files.S3.Endpoint != "" && cfg.Files.S3.Bucket != "" {
		s3, err := blob.NewS3(blob.S3Config{
			Endpoint: cfg.Files.S3.Endpoint, Bucket: cfg.Files.S3.Bucket, Region: cfg.Files.S3.Region,
			AccessKey: cfg.Files.S3.AccessKey, SecretKey: cfg.Files.S3.SecretKey, Insecure: cfg.Files.S3.Insecure,
		})
		if err != nil {
			return nil, err
		}
		if cfg.Files.Store == blob.KindS3 {
			cctx, cancel := context.WithTimeout(ctx, fileStoreCheckTimeout)
			defer cancel()
			if err := s3.Check(cctx); err != nil {
				return nil, err
			}
			target = s3
		} else {
			// Files written while s3 was the store stay readable.
			others = append(others, s3)
		}
	}
	svc, err := files.New(d.DB, d.Keys, d.Audit, d.Records, target, d.Now, files.Options{MaxSize: cfg.Files.MaxSize, ReadStores: others})
	if err != nil {
		return nil, err
	}
	// Organization deletion removes the rows in its own transaction; this
	// removes the parts kept outside the database (S3) afterwards.
	d.orgPurgers = append(d.orgPurgers, svc.PurgeOrg)
	// A record's attachments are deleted with it.
	d.Records.OnDelete(svc.DeleteAttached)
	return svc, nil
}

// fileJanitor removes abandoned uploads and finishes interrupted deletions
// until ctx ends.
func (s *Server) fileJanitor(ctx context.Context) {
	defer s.background.Done()
	s.data.Files.RunJanitor(ctx, fileJanitorEvery, fileUploadAbandoned, s.data.Log)
}
