package awstest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// archiveKeyRe is the archive layout under its prefix: <table>/cluster=<c>/day=<YYYY-MM-DD>/<lo>_<hi>.parquet.
var archiveKeyRe = regexp.MustCompile(`^([a-z_]+)/cluster=[a-z0-9_-]+/day=\d{4}-\d{2}-\d{2}/\d{8}T\d{6}\.\d{6}_\d{8}T\d{6}\.\d{6}\.parquet$`)

// Keys lists every object key of the bucket.
func (s *S3Server) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(s.Client(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

// Get copies one object into the file dst, creating its folder.
func (s *S3Server) Get(t testing.TB, bucket, key, dst string) {
	t.Helper()
	// An object sent in parts has no whole-object checksum to validate; the SDK would say so on
	// stderr for each one.
	out, err := s.Client(t).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, out.Body); err != nil {
		t.Fatal(err)
	}
}

// compactedKeyRe matches the keys compaction writes: a layout record or a compacted part.
var compactedKeyRe = regexp.MustCompile(`^([a-z_][a-z0-9_]*)/cluster=[^/]+/(?:_layout\.json|compacted/day=\d{4}-\d{2}-\d{2}/g\d+/part-\d{5}\.parquet)$`)

// DownloadArchive copies the archive the exporter wrote under prefix into root, keys under the
// prefix becoming paths under root, after checking that every key of the bucket follows the
// archive layout and names a known table. It returns the keys.
func (s *S3Server) DownloadArchive(t testing.TB, bucket, prefix, root string) []string {
	t.Helper()
	keys := s.Keys(t, bucket)
	for _, key := range keys {
		rel, ok := strings.CutPrefix(key, prefix)
		m := archiveKeyRe.FindStringSubmatch(rel)
		if m == nil {
			// Compaction's layout records and compacted parts (tables.LayoutKey, PartKey).
			m = compactedKeyRe.FindStringSubmatch(rel)
		}
		if !ok || m == nil {
			t.Fatalf("object %s is not under the layout %s<table>/cluster=<c>/day=<YYYY-MM-DD>/<lo>_<hi>.parquet", key, prefix)
		}
		if _, known := tables.Lookup(m[1]); !known {
			t.Fatalf("object %s: unknown table %s", key, m[1])
		}
		s.Get(t, bucket, key, filepath.Join(root, filepath.FromSlash(rel)))
	}
	return keys
}
