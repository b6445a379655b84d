package awstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
)

// KeyedS3Server is a versitygw whose root user has keys the test chose, for tests that look
// for the keys in everything the product prints or stores: the fixed AccessKey and SecretKey
// are too plain to search for.
type KeyedS3Server struct {
	*S3Server
	AccessKey, SecretKey string
}

// StartS3WithKeys starts a versitygw serving an empty folder whose root user has the given
// keys; the test's end stops it.
func StartS3WithKeys(t testing.TB, accessKey, secretKey string) *KeyedS3Server {
	t.Helper()
	root := require(t, "versitygw", "versitygw.sh", ".tools/bin/versitygw")
	s := &KeyedS3Server{
		S3Server:  &S3Server{dir: filepath.Join(t.TempDir(), "s3"), script: filepath.Join(root, "scripts", "versitygw.sh")},
		AccessKey: accessKey,
		SecretKey: secretKey,
	}
	s.port = start(t, func(port int) error {
		return runErr(s.script, "start", s.dir, fmt.Sprint(port), accessKey, secretKey)
	})
	s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	t.Cleanup(func() {
		logTail(t, s.dir+".log")
		s.Stop(t)
	})
	return s
}

// Start starts the server again on the same port and folder after Stop, with the same keys.
func (s *KeyedS3Server) Start(t testing.TB) {
	t.Helper()
	run(t, s.script, "start", s.dir, fmt.Sprint(s.port), s.AccessKey, s.SecretKey)
}

// Settings are AWS settings that reach the server with its root keys.
func (s *KeyedS3Server) Settings() awsx.Settings {
	return awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Region: Region, MaxAttempts: 3}
}

// Client returns a path-style S3 client of the server.
func (s *KeyedS3Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	cfg, err := awsx.Load(context.Background(), s.Settings())
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
}

// Bucket creates a new empty bucket and returns its name.
func (s *KeyedS3Server) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("stlarchive-test-%d-%d", os.Getpid(), seq.Add(1))
	if _, err := s.Client(t).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return name
}

// Files returns the paths of every file the server keeps (objects, metadata, uploads in
// progress), for tests that scan what reached the disk.
func (s *S3Server) Files(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
