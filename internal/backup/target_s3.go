package backup

import (
	"context"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/rampart-platform/rampart/internal/errs"
)

// S3Config says how to reach an S3-compatible bucket.
type S3Config struct {
	Endpoint  string // host[:port]; empty means s3.amazonaws.com
	Region    string
	AccessKey string
	SecretKey string // secret: never in messages
	// Insecure allows plain HTTP; only for a loopback endpoint (tests, a
	// local MinIO).
	Insecure bool
	Bucket   string
	Prefix   string // object name prefix ("" or "path/")
}

// S3Target is a Target on an S3-compatible bucket (minio-go). A single
// PutObject is atomic on S3: the object appears whole or not at all.
type S3Target struct {
	client *minio.Client
	bucket string
	prefix string
	desc   string
	// unsignedPayload: on plain HTTP (loopback only) minio-go would sign
	// the body in aws-chunked encoding, which not every S3-compatible
	// server reads; the archive carries its own SHA-256 anyway.
	unsignedPayload bool
}

var _ Target = (*S3Target)(nil)

// s3PartSize bounds the memory an upload of unknown size buffers.
const s3PartSize = 16 << 20

// NewS3Target returns a target on the bucket c names.
func NewS3Target(c S3Config) (*S3Target, error) {
	const op = "backup.NewS3Target"
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	if c.Insecure && !isLoopbackHost(endpoint) {
		return nil, errs.E(errs.Invalid, op, "backup.s3.insecure: plain HTTP is only allowed to a loopback endpoint, not "+endpoint)
	}
	cl, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: !c.Insecure,
		Region: c.Region,
	})
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "backup.s3.endpoint: cannot use "+endpoint, err)
	}
	prefix := strings.Trim(c.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3Target{client: cl, bucket: c.Bucket, prefix: prefix, desc: "s3://" + c.Bucket + "/" + prefix, unsignedPayload: c.Insecure}, nil
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseS3URL splits s3://bucket/prefix.
func ParseS3URL(s string) (bucket, prefix string, ok bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", false
	}
	return u.Host, strings.Trim(u.Path, "/"), true
}

func (s *S3Target) String() string { return s.desc }

// Put implements Target.
func (s *S3Target) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	info, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, r, -1, minio.PutObjectOptions{
		PartSize: s3PartSize, ContentType: "application/octet-stream", DisableContentSha256: s.unsignedPayload,
	})
	if err != nil {
		return 0, s.fail("backup.S3Target.Put", "cannot upload "+name, err)
	}
	return info.Size, nil
}

// Open implements Target.
func (s *S3Target) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			_ = obj.Close()
		}
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, errs.E(errs.NotFound, "backup.S3Target.Open", "no "+name+" in backup target "+s.desc)
		}
		return nil, s.fail("backup.S3Target.Open", "cannot read "+name, err)
	}
	return obj, nil
}

// List implements Target.
func (s *S3Target) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s.fail("backup.S3Target.List", "cannot list", o.Err)
		}
		out = append(out, strings.TrimPrefix(o.Key, s.prefix))
	}
	sort.Strings(out)
	return out, nil
}

// Delete implements Target.
func (s *S3Target) Delete(ctx context.Context, name string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+name, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		return s.fail("backup.S3Target.Delete", "cannot delete "+name, err)
	}
	return nil
}

func (s *S3Target) fail(op, what string, err error) error {
	return errs.E(errs.Unavailable, op, what+" in backup target "+s.desc, err)
}
