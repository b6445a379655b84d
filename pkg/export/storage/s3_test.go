package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
)

const partSize = 5 << 20 // the smallest part S3 accepts

// recorder remembers every request that reaches the server.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, Query string
	Header              http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone()})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// writes are the requests that store data: PutObject, CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload.
func (r *recorder) writes() (puts, creates, parts, completes []recorded) {
	for _, q := range r.requests() {
		switch {
		case q.Method == http.MethodPut && strings.Contains(q.Query, "partNumber="):
			parts = append(parts, q)
		case q.Method == http.MethodPut:
			puts = append(puts, q)
		case q.Method == http.MethodPost && strings.Contains(q.Query, "uploads"):
			creates = append(creates, q)
		case q.Method == http.MethodPost && strings.Contains(q.Query, "uploadId="):
			completes = append(completes, q)
		}
	}
	return
}

type fixture struct {
	srv    *awstest.S3Server
	client *s3.Client
	bucket string
	rec    *recorder
}

func newFixture(t *testing.T) *fixture {
	srv := awstest.StartS3(t)
	return &fixture{srv: srv, client: srv.Client(t), bucket: srv.Bucket(t), rec: &recorder{}}
}

func (f *fixture) archive(t *testing.T, opts storage.S3Options) *storage.S3 {
	t.Helper()
	s := f.srv.Settings()
	s.HTTPClient = &http.Client{Transport: f.rec}
	cfg, err := awsx.Load(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(f.srv.Endpoint)
		o.UsePathStyle = true
	})
	opts.Bucket = f.bucket
	if opts.PartSize == 0 {
		opts.PartSize = partSize
	}
	a, err := storage.NewS3(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// get returns the object's bytes, or nil when there is no object at key.
func (f *fixture) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &f.bucket, Key: &key})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "NoSuchKey" {
			return nil
		}
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) keys(t *testing.T) []string {
	t.Helper()
	out, err := f.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &f.bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

func (f *fixture) openUploads(t *testing.T) int {
	t.Helper()
	out, err := f.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &f.bucket})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, a storage.Archive, key string, data []byte) storage.Object {
	t.Helper()
	o, err := a.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	// Several writes, as the Parquet writer does.
	for len(data) > 0 {
		n := min(len(data), 1<<20)
		if _, err := o.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	return o
}

const key = "stl_query/cluster=c1/day=2026-11-29/20261129T000000Z_20261129T000500Z.parquet"

func TestS3ObjectIsInvisibleUntilCommitThenUnderPrefixAndKey(t *testing.T) {
	for _, size := range []int{1000, 2*partSize + 123} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			f := newFixture(t)
			a := f.archive(t, storage.S3Options{Prefix: "stl"})
			data := randomBytes(t, size)
			o := write(t, a, key, data)
			if got := f.keys(t); len(got) != 0 {
				t.Fatalf("before commit the bucket holds %v", got)
			}
			if err := o.Commit(); err != nil {
				t.Fatal(err)
			}
			if got := f.keys(t); len(got) != 1 || got[0] != "stl/"+key {
				t.Fatalf("after commit the bucket holds %v, want [stl/%s]", got, key)
			}
			if !bytes.Equal(f.get(t, "stl/"+key), data) {
				t.Fatal("stored object differs from what was written")
			}
		})
	}
}

func TestS3CommitReplacesTheObject(t *testing.T) {
	f := newFixture(t)
	a := f.archive(t, storage.S3Options{})
	for _, data := range [][]byte{[]byte("first attempt, longer than the second"), []byte("redo")} {
		if err := write(t, a, key, data).Commit(); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, key); !bytes.Equal(got, data) {
			t.Fatalf("object holds %q, want %q", got, data)
		}
	}
}

func TestS3AbortLeavesNothing(t *testing.T) {
	for _, size := range []int{10, 2*partSize + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			f := newFixture(t)
			a := f.archive(t, storage.S3Options{})
			o := write(t, a, key, randomBytes(t, size))
			if err := o.Abort(); err != nil {
				t.Fatal(err)
			}
			if got := f.keys(t); len(got) != 0 {
				t.Fatalf("after abort the bucket holds %v", got)
			}
			if n := f.openUploads(t); n != 0 {
				t.Fatalf("after abort %d multipart uploads are still open", n)
			}
			if err := o.Abort(); err != nil {
				t.Fatalf("second abort: %v", err)
			}
		})
	}
}

func TestS3AbortOfAnOldObjectKeepsTheCommittedOne(t *testing.T) {
	f := newFixture(t)
	a := f.archive(t, storage.S3Options{})
	if err := write(t, a, key, []byte("committed")).Commit(); err != nil {
		t.Fatal(err)
	}
	if err := write(t, a, key, randomBytes(t, partSize+1)).Abort(); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, key); string(got) != "committed" {
		t.Fatalf("object holds %d bytes, want the committed ones", len(got))
	}
}

func TestS3LargeObjectIsUploadedInParts(t *testing.T) {
	f := newFixture(t)
	a := f.archive(t, storage.S3Options{})
	data := randomBytes(t, 3*partSize+7)
	if err := write(t, a, key, data).Commit(); err != nil {
		t.Fatal(err)
	}
	puts, creates, parts, completes := f.rec.writes()
	if len(puts) != 0 || len(creates) != 1 || len(parts) != 4 || len(completes) != 1 {
		t.Fatalf("requests: %d PutObject, %d CreateMultipartUpload, %d UploadPart, %d Complete; want 0, 1, 4, 1",
			len(puts), len(creates), len(parts), len(completes))
	}
	if !bytes.Equal(f.get(t, key), data) {
		t.Fatal("stored object differs from what was written")
	}
}

// TestS3EveryWriteRequestCarriesTheEncryption inspects the requests reaching the server. The
// encryption headers go on PutObject and CreateMultipartUpload; S3 applies the upload's settings
// to its parts, which carry none.
func TestS3EveryWriteRequestCarriesTheEncryption(t *testing.T) {
	cases := []struct {
		name, sse, keyID string
	}{
		{"sse-s3", storage.SSES3, ""},
		{"sse-kms with key id", storage.SSEKMS, "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			srv := fakeS3(t, nil)
			a := archiveAt(t, srv.URL, &http.Client{Transport: rec}, storage.S3Options{Bucket: "b", SSE: c.sse, KMSKeyID: c.keyID, PartSize: partSize})
			if err := write(t, a, "small.parquet", []byte("x")).Commit(); err != nil {
				t.Fatal(err)
			}
			if err := write(t, a, "large.parquet", randomBytes(t, partSize+1)).Commit(); err != nil {
				t.Fatal(err)
			}
			if err := a.CheckWritable(context.Background()); err != nil {
				t.Fatal(err)
			}
			puts, creates, parts, _ := rec.writes()
			if len(puts) != 1 || len(creates) != 2 || len(parts) != 2 {
				t.Fatalf("requests: %d PutObject, %d CreateMultipartUpload, %d UploadPart", len(puts), len(creates), len(parts))
			}
			for _, r := range append(puts, creates...) {
				if got := r.Header.Get("X-Amz-Server-Side-Encryption"); got != c.sse {
					t.Errorf("%s %s?%s: sse %q, want %q", r.Method, r.Path, r.Query, got, c.sse)
				}
				if got := r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != c.keyID {
					t.Errorf("%s %s?%s: kms key %q, want %q", r.Method, r.Path, r.Query, got, c.keyID)
				}
				// A Bucket Key spares a KMS call per object with SSE-KMS; SSE-S3 has no key.
				wantBucketKey := map[bool]string{true: "true", false: ""}[c.sse == storage.SSEKMS]
				if got := r.Header.Get("X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"); got != wantBucketKey {
					t.Errorf("%s %s?%s: bucket key enabled %q, want %q", r.Method, r.Path, r.Query, got, wantBucketKey)
				}
			}
		})
	}
}

func TestS3KMSErrorNamesTheKeyID(t *testing.T) {
	const keyID = "arn:aws:kms:us-east-1:123456789012:key/0000dead-beef"
	kmsError := func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>KMS.NotFoundException</Code><Message>Invalid keyId %s</Message><RequestId>r1</RequestId></Error>`, keyID)
		return true
	}
	srv := fakeS3(t, kmsError)
	a := archiveAt(t, srv.URL, nil, storage.S3Options{Bucket: "b", SSE: storage.SSEKMS, KMSKeyID: keyID, PartSize: partSize})
	errs := map[string]error{"CheckWritable": a.CheckWritable(context.Background())}
	errs["Commit"] = write(t, a, key, []byte("x")).Commit()
	for op, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "KMS key "+keyID) || !strings.Contains(err.Error(), "KMS.NotFoundException") {
			t.Errorf("%s: error %v, want one naming the KMS key and the server's error", op, err)
		}
	}
}

func TestS3CheckWritableLeavesNothing(t *testing.T) {
	f := newFixture(t)
	a := f.archive(t, storage.S3Options{Prefix: "stl/"})
	if err := a.CheckWritable(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.keys(t); len(got) != 0 {
		t.Fatalf("bucket holds %v", got)
	}
	if n := f.openUploads(t); n != 0 {
		t.Fatalf("%d uploads left open", n)
	}
}

func TestS3CheckWritableFailsOnMissingBucketAndNamesIt(t *testing.T) {
	f := newFixture(t)
	f.bucket = "no-such-bucket"
	a := f.archive(t, storage.S3Options{})
	err := a.CheckWritable(context.Background())
	if err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket") {
		t.Fatalf("error %v, want one naming the bucket", err)
	}
}

func TestS3RejectsKeysOutsideTheArchive(t *testing.T) {
	a, err := storage.NewS3(s3.New(s3.Options{Region: "us-east-1"}), storage.S3Options{Bucket: "b", Prefix: "stl/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"", "/abs.parquet", "../up.parquet", "a/../../b", "a//b"} {
		if _, err := a.Create(context.Background(), k); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}

func TestS3StringShowsNoCredentials(t *testing.T) {
	a, err := storage.NewS3(s3.New(s3.Options{Region: "us-east-1"}), storage.S3Options{Bucket: "b", Prefix: "stl", SSE: storage.SSEKMS, KMSKeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.String(); got != "s3 archive s3://b/stl/ sse=aws:kms" {
		t.Fatalf("String() = %q", got)
	}
}

func archiveAt(t *testing.T, endpoint string, hc *http.Client, opts storage.S3Options) *storage.S3 {
	t.Helper()
	s := awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "AKID", SecretKey: "secret", Region: "us-east-1", MaxAttempts: 1, HTTPClient: hc}
	cfg, err := awsx.Load(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	a, err := storage.NewS3(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fakeS3 answers the write requests of the S3 REST protocol with success, unless override
// handles the request first. It stores nothing: it stands in for AWS features (SSE-KMS) that the
// local S3 server does not have.
func fakeS3(t *testing.T, override func(http.ResponseWriter, *http.Request) bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if override != nil && override(w, r) {
			return
		}
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/xml")
		switch {
		case r.Method == http.MethodPost && q.Has("uploads"):
			fmt.Fprint(w, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up1</UploadId></InitiateMultipartUploadResult>`)
		case r.Method == http.MethodPost && q.Has("uploadId"):
			fmt.Fprint(w, `<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"e"</ETag></CompleteMultipartUploadResult>`)
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"e"`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "not handled", http.StatusNotImplemented)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestS3TransientErrorsAreRetried answers the first attempt of every request with 503 SlowDown,
// as S3 does under load; the SDK's retryer must try again, after a backoff, and succeed.
func TestS3TransientErrorsAreRetried(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	attempts := 0
	srv := fakeS3(t, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		op := r.Method + " " + r.URL.RawQuery
		seen[op]++
		if seen[op] > 1 {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return true
	})
	s := awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "AKID", SecretKey: "secret", Region: "us-east-1", MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond}
	cfg, err := awsx.Load(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL); o.UsePathStyle = true })
	a, err := storage.NewS3(client, storage.S3Options{Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, a, key, []byte("x")).Commit(); err != nil {
		t.Fatalf("commit after one SlowDown: %v", err)
	}
	if attempts != 2 {
		t.Fatalf("%d attempts, want 2 (one refused, one retried)", attempts)
	}
}

// TestS3MemoryStaysBoundedByPartsInFlight streams an object forty times the part size and
// samples the heap: the uploader holds a bounded set of part buffers, whatever the object size.
func TestS3MemoryStaysBoundedByPartsInFlight(t *testing.T) {
	srv := fakeS3(t, nil)
	a := archiveAt(t, srv.URL, nil, storage.S3Options{Bucket: "b", PartSize: partSize, Concurrency: 2})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	o, err := a.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	chunk := randomBytes(t, 1<<20)
	const total = 40 * partSize
	for written := 0; written < total; written += len(chunk) {
		if _, err := o.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	close(done)
	<-sampled
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("object of %d MiB: heap grew by at most %d MiB (part size %d MiB, concurrency 2)", total>>20, grew>>20, partSize>>20)
	// Parts in flight plus the one being filled, with room for garbage not yet collected; a
	// buffered object would need all 200 MiB.
	if limit := int64(4 * (2 + 1) * partSize); grew > limit {
		t.Fatalf("heap grew by %d MiB, more than %d MiB", grew>>20, limit>>20)
	}
}

// TestS3MultipartObjectHasAFullObjectChecksumThatDownloadsValidate uploads an object in parts to
// versitygw and downloads it with a client that logs: the object's checksum is the CRC32 of the
// whole object (FULL_OBJECT), so the SDK validates it on download instead of logging "Skipped
// validation of multipart checksum", as it does for S3's default composite checksum.
func TestS3MultipartObjectHasAFullObjectChecksumThatDownloadsValidate(t *testing.T) {
	f := newFixture(t)
	a := f.archive(t, storage.S3Options{})
	data := randomBytes(t, 2*partSize+11)
	if err := write(t, a, key, data).Commit(); err != nil {
		t.Fatal(err)
	}
	_, creates, parts, _ := f.rec.writes()
	if len(creates) != 1 || len(parts) != 3 {
		t.Fatalf("%d CreateMultipartUpload and %d UploadPart, want a multipart upload of 3 parts", len(creates), len(parts))
	}
	if got := creates[0].Header.Get("X-Amz-Checksum-Type"); got != "FULL_OBJECT" {
		t.Errorf("CreateMultipartUpload checksum type %q, want FULL_OBJECT", got)
	}
	var logged []string
	var mu sync.Mutex
	cfg, err := awsx.Load(context.Background(), f.srv.Settings())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, v...))
	})
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(f.srv.Endpoint)
		o.UsePathStyle = true
	})
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &f.bucket, Key: aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("downloaded object differs")
	}
	if out.ChecksumType != types.ChecksumTypeFullObject || aws.ToString(out.ChecksumCRC32) == "" || strings.Contains(aws.ToString(out.ChecksumCRC32), "-") {
		t.Errorf("object checksum %q of type %q, want a full-object CRC32", aws.ToString(out.ChecksumCRC32), out.ChecksumType)
	}
	want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data)))
	if aws.ToString(out.ChecksumCRC32) != want {
		t.Errorf("object checksum %s, want the CRC32 of its bytes %s", aws.ToString(out.ChecksumCRC32), want)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logged {
		if strings.Contains(l, "Skipped validation") {
			t.Errorf("the SDK logged %q: the download was not validated", l)
		}
	}
}
