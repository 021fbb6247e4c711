package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/rampart-platform/rampart/internal/errs"
)

// S3Config says where the S3-compatible bucket is.
type S3Config struct {
	Endpoint  string // host[:port], no scheme
	Bucket    string
	Region    string // may be empty for servers that ignore it
	AccessKey string
	SecretKey string
	// Insecure uses plain HTTP; the configuration allows it only for a
	// loopback endpoint (a local test server).
	Insecure bool
	// Transport replaces the HTTP transport (tests); nil means minio's default.
	Transport http.RoundTripper
}

// S3 keeps parts as objects named <org>/<file>/<index> in one bucket, so an
// organization's objects share the prefix "<org>/" (DeleteOrg) and a file's
// the prefix "<org>/<file>/" (Delete).
type S3 struct {
	client *minio.Client
	bucket string
}

var _ Store = (*S3)(nil)

// NewS3 returns the S3 store. It does not connect; Check does.
func NewS3(cfg S3Config) (*S3, error) {
	const op = "blob.NewS3"
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    !cfg.Insecure,
		Region:    cfg.Region,
		Transport: cfg.Transport,
	})
	if err != nil {
		// minio's message names the endpoint, never the credentials.
		return nil, errs.E(errs.Invalid, op, "files.s3.endpoint: "+err.Error(), err)
	}
	return &S3{client: c, bucket: cfg.Bucket}, nil
}

// Kind is "s3".
func (s *S3) Kind() string { return KindS3 }

// Check verifies that the bucket exists and the credentials reach it.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s3Err("blob.S3.Check", err)
	}
	if !ok {
		return errs.E(errs.Unavailable, "blob.S3.Check", "S3 bucket "+s.bucket+" does not exist")
	}
	return nil
}

func s3Err(op string, err error) error {
	return errs.E(errs.Unavailable, op, "object storage unavailable", err)
}

func objectName(org, file string, index int64) string {
	return org + "/" + file + "/" + partName(index)
}

// Put uploads one part as one object.
func (s *S3) Put(ctx context.Context, org, file string, index int64, data []byte) error {
	const op = "blob.S3.Put"
	if err := checkAddress(op, org, file, index); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, objectName(org, file, index), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	if err != nil {
		return s3Err(op, err)
	}
	return nil
}

// Get downloads one part, refusing one larger than MaxPartBytes.
func (s *S3) Get(ctx context.Context, org, file string, index int64) ([]byte, error) {
	const op = "blob.S3.Get"
	if err := checkAddress(op, org, file, index); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, objectName(org, file, index), minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Err(op, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, MaxPartBytes+1))
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound) {
			return nil, errs.E(errs.NotFound, op, "no such part")
		}
		return nil, s3Err(op, err)
	}
	if len(data) > MaxPartBytes {
		return nil, errs.E(errs.Integrity, op, "stored part is larger than any part Rampart writes")
	}
	return data, nil
}

// Delete removes every object under the file's prefix.
func (s *S3) Delete(ctx context.Context, org, file string) error {
	const op = "blob.S3.Delete"
	if err := checkAddress(op, org, file, 0); err != nil {
		return err
	}
	return s.deletePrefix(ctx, op, org+"/"+file+"/")
}

// DeleteOrg removes every object under the organization's prefix.
func (s *S3) DeleteOrg(ctx context.Context, org string) error {
	const op = "blob.S3.DeleteOrg"
	if err := checkAddress(op, org, "", 0); err != nil {
		return err
	}
	return s.deletePrefix(ctx, op, org+"/")
}

func (s *S3) deletePrefix(ctx context.Context, op, prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return errs.E(errs.Invalid, op, "invalid prefix")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := make(chan minio.ObjectInfo)
	var listErr error
	go func() {
		defer close(objects)
		for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			select {
			case objects <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	var firstErr error
	for e := range s.client.RemoveObjects(ctx, s.bucket, objects, minio.RemoveObjectsOptions{}) {
		if firstErr == nil {
			firstErr = e.Err
		}
	}
	if listErr != nil {
		return s3Err(op, listErr)
	}
	if firstErr != nil {
		return s3Err(op, firstErr)
	}
	return nil
}
