package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// s3API is the part of the S3 client the archive uses.
type s3API interface {
	manager.UploadAPIClient
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ s3API = (*s3.Client)(nil)

// Server-side encryption modes, as S3 names them in x-amz-server-side-encryption.
const (
	SSES3  = "AES256"
	SSEKMS = "aws:kms"
)

// S3Options describe an archive in an S3 bucket.
type S3Options struct {
	Bucket string
	// Prefix is prepended to every key (e.g. "stl/"); a missing trailing slash is added.
	Prefix string
	// SSE is "", SSES3 or SSEKMS; KMSKeyID goes with SSEKMS (empty: the bucket's AWS-managed key).
	SSE      string
	KMSKeyID string
	// PartSize and Concurrency bound the memory of one object being written: at most
	// PartSize × (Concurrency+1) bytes are buffered. Defaults: 8 MiB and 2.
	PartSize    int64
	Concurrency int
}

// S3 is an archive in an S3 bucket (AWS or any S3-compatible server). An object is streamed as a
// multipart upload while it is written and becomes visible only when the upload completes on
// Commit; an object smaller than one part is sent with a single PutObject on Commit. Either way S3
// replaces the object under the key atomically, and Abort leaves nothing behind.
//
// The uploader is feature/s3/manager's. The SDK marks it superseded by feature/s3/transfermanager,
// which is still a v0 module; moving over changes nothing above this type.
type S3 struct {
	client   s3API
	uploader *manager.Uploader
	opts     S3Options
}

// NewS3 makes an archive over a client; the client's retryer retries failed requests with backoff.
func NewS3(client s3API, opts S3Options) (*S3, error) {
	if opts.Bucket == "" {
		return nil, errors.New("storage: s3 bucket is required")
	}
	switch opts.SSE {
	case "", SSES3:
		if opts.KMSKeyID != "" {
			return nil, fmt.Errorf("storage: a KMS key id needs sse %q", SSEKMS)
		}
	case SSEKMS:
	default:
		return nil, fmt.Errorf("storage: unknown sse %q (want %q or %q)", opts.SSE, SSES3, SSEKMS)
	}
	if opts.Prefix != "" && !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.PartSize == 0 {
		opts.PartSize = 8 << 20
	}
	if opts.PartSize < manager.MinUploadPartSize {
		return nil, fmt.Errorf("storage: s3 part size must be at least %d bytes", manager.MinUploadPartSize)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	up := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = opts.PartSize
		u.Concurrency = opts.Concurrency
		// A failed upload is aborted, so its parts neither linger nor cost storage.
		u.LeavePartsOnError = false
		u.ClientOptions = append(u.ClientOptions, fullObjectChecksum)
	})
	return &S3{client: client, uploader: up, opts: opts}, nil
}

func (a *S3) String() string {
	s := "s3 archive s3://" + a.opts.Bucket + "/" + a.opts.Prefix
	if a.opts.SSE != "" {
		s += " sse=" + a.opts.SSE
	}
	return s
}

func (a *S3) key(key string) (string, error) {
	clean := path.Clean(key)
	if key == "" || path.IsAbs(key) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || clean != key {
		return "", fmt.Errorf("storage: key %q is not a clean relative path", key)
	}
	return a.opts.Prefix + key, nil
}

// Create implements Archive. Writes block while a part is being uploaded and the part buffers are
// all in use: that back-pressure is what bounds memory.
func (a *S3) Create(ctx context.Context, key string) (Object, error) {
	full, err := a.key(key)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	o := &s3Object{archive: a, key: full, pw: pw, done: make(chan struct{})}
	// The uploader copies these fields to CreateMultipartUpload, and the checksum algorithm to
	// every UploadPart.
	in := &s3.PutObjectInput{Bucket: aws.String(a.opts.Bucket), Key: aws.String(full), Body: pr,
		ChecksumAlgorithm: checksumAlgorithm}
	if a.opts.SSE != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(a.opts.SSE)
	}
	if a.opts.KMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(a.opts.KMSKeyID)
	}
	in.BucketKeyEnabled = a.bucketKey()
	go func() {
		defer close(o.done)
		_, err := a.uploader.Upload(ctx, in)
		// Unblock a writer waiting on a failed upload.
		pr.CloseWithError(uploadFailed{err})
		o.err = err
	}()
	return o, nil
}

// CheckWritable implements Archive: it starts a multipart upload with the archive's encryption
// settings and aborts it. That needs the same permissions as a write (s3:PutObject and, with
// SSE-KMS, kms:GenerateDataKey on the key) and leaves no object behind.
func (a *S3) CheckWritable(ctx context.Context) error {
	key := a.opts.Prefix + ".stlarchive-writable"
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(a.opts.Bucket), Key: aws.String(key)}
	if a.opts.SSE != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(a.opts.SSE)
	}
	if a.opts.KMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(a.opts.KMSKeyID)
	}
	in.BucketKeyEnabled = a.bucketKey()
	out, err := a.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return a.wrap("archive is not writable", err)
	}
	_, err = a.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: in.Bucket, Key: in.Key, UploadId: out.UploadId})
	if err != nil {
		return a.wrap("abort test upload", err)
	}
	return nil
}

// bucketKey asks for an S3 Bucket Key with SSE-KMS: S3 then derives the data keys of the
// objects from one bucket-level key it gets from KMS now and then, instead of one KMS call per
// object written or read. With many small Parquet objects that is the difference between KMS
// throttling and cost per object and almost none. Needs no more permissions than without.
func (a *S3) bucketKey() *bool {
	if a.opts.SSE != SSEKMS {
		return nil
	}
	return aws.Bool(true)
}

// checksumAlgorithm is the checksum of every upload. CRC32 has a full-object multipart form
// (CRC64NVME would too; CRC32 is the SDK's default and every S3-compatible server's).
const checksumAlgorithm = types.ChecksumAlgorithmCrc32

// fullObjectChecksum makes a multipart upload's checksum the CRC32 of the whole object
// (ChecksumType FULL_OBJECT) rather than S3's default COMPOSITE checksum of the part checksums.
// A GetObject of a composite object returns a checksum no reader can recompute from the bytes,
// so the SDK skips validating it ("Skipped validation of multipart checksum"); a full-object
// checksum is validated on every download, like a single PutObject's. The uploader has no field
// for the type, so it is set on the CreateMultipartUpload input before it is sent.
func fullObjectChecksum(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("stlarchiveFullObjectChecksum",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if c, ok := in.Parameters.(*s3.CreateMultipartUploadInput); ok && c.ChecksumAlgorithm != "" {
					c.ChecksumType = types.ChecksumTypeFullObject
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// wrap names the bucket and, for an error that concerns KMS, the key id: an operator reading
// "access denied" must see which key the role lacks.
func (a *S3) wrap(op string, err error) error {
	var api smithy.APIError
	if a.opts.SSE == SSEKMS && errors.As(err, &api) && isKMSError(api) {
		keyID := a.opts.KMSKeyID
		if keyID == "" {
			keyID = "aws/s3 (the bucket's AWS-managed key)"
		}
		return fmt.Errorf("storage: %s: s3://%s: KMS key %s: %w", op, a.opts.Bucket, keyID, err)
	}
	return fmt.Errorf("storage: %s: s3://%s: %w", op, a.opts.Bucket, err)
}

// isKMSError tells S3 errors caused by the KMS key: S3 relays KMS failures with codes such as
// KMS.NotFoundException or KMS.DisabledException, and an AccessDenied whose message names KMS.
func isKMSError(api smithy.APIError) bool {
	code := api.ErrorCode()
	return strings.HasPrefix(code, "KMS") || strings.Contains(strings.ToLower(api.ErrorMessage()), "kms")
}

// uploadFailed is what a writer sees when the upload behind the pipe has already failed.
type uploadFailed struct{ err error }

func (u uploadFailed) Error() string {
	if u.err == nil {
		return "upload finished"
	}
	return "upload failed: " + u.err.Error()
}

var errAborted = errors.New("object aborted")

type s3Object struct {
	archive *S3
	key     string
	pw      *io.PipeWriter
	done    chan struct{}
	err     error // of the upload; read after done is closed
	closed  bool
}

func (o *s3Object) Write(p []byte) (int, error) {
	n, err := o.pw.Write(p)
	if err != nil {
		<-o.done
		if o.err != nil {
			return n, o.archive.wrap("write "+o.key, o.err)
		}
		return n, fmt.Errorf("storage: write %s: %w", o.key, err)
	}
	return n, nil
}

func (o *s3Object) Commit() error {
	if o.closed {
		return errors.New("storage: object already closed")
	}
	o.closed = true
	o.pw.Close()
	<-o.done
	if o.err != nil {
		return o.archive.wrap("write "+o.key, o.err)
	}
	return nil
}

func (o *s3Object) Abort() error {
	if o.closed {
		return nil
	}
	o.closed = true
	// The uploader sees the error instead of the end of the body: it sends no PutObject or
	// CompleteMultipartUpload, and aborts a multipart upload it started.
	o.pw.CloseWithError(errAborted)
	<-o.done
	return nil
}

// List implements Objects.
func (a *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(a.opts.Bucket), Prefix: aws.String(a.opts.Prefix + prefix)}
	var out []Info
	p := s3.NewListObjectsV2Paginator(a.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, a.wrap("list "+prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Info{Key: strings.TrimPrefix(aws.ToString(o.Key), a.opts.Prefix), Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// Open implements Objects.
func (a *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	full, err := a.key(key)
	if err != nil {
		return nil, err
	}
	out, err := a.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(a.opts.Bucket), Key: aws.String(full)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, a.wrap("read "+key, err)
	}
	return out.Body, nil
}

// Delete implements Objects. S3 answers a missing key with success.
func (a *S3) Delete(ctx context.Context, key string) error {
	full, err := a.key(key)
	if err != nil {
		return err
	}
	if _, err := a.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(a.opts.Bucket), Key: aws.String(full)}); err != nil {
		return a.wrap("delete "+key, err)
	}
	return nil
}
