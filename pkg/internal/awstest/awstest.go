// Package awstest runs the local stand-ins of the AWS services for tests, through the project's
// own scripts: versitygw for S3 (scripts/versitygw.sh) and dynalite for DynamoDB
// (scripts/dynalite.sh). Each call starts a fresh server on a free loopback port and stops it
// when the test ends; the S3 server can also be stopped and restarted in the middle of a test.
//
// When a server is not installed the tests skip with a message, except under CI=true, where a
// missing server is a failure.
package awstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

// Region is the region every client of the local servers uses.
const Region = "us-east-1"

// AccessKey and SecretKey are the credentials of the local S3 server's root user.
const (
	AccessKey = "stlarchivetest"
	SecretKey = "stlarchivetest-secret"
)

var seq atomic.Int64

func require(t testing.TB, what, script, bin string) string {
	t.Helper()
	root, err := pgtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, bin)); err != nil {
		msg := fmt.Sprintf("%s is not installed: run scripts/%s install", what, script)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must install it)")
		}
		t.Skip(msg)
	}
	return root
}

// S3Server is a running versitygw.
type S3Server struct {
	Endpoint string
	// AccessKey and SecretKey are the root user's keys.
	AccessKey, SecretKey string
	dir                  string
	port                 int
	script               string
	stopped              bool
}

// StartS3 starts a versitygw serving an empty folder, with the root keys AccessKey and
// SecretKey; the test's end stops it.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	return StartS3WithKeys(t, AccessKey, SecretKey)
}

// StartS3WithKeys starts a versitygw whose root user has the keys the test chose, for tests
// that look for the keys in everything the product prints or stores: the fixed AccessKey and
// SecretKey are too plain to search for.
func StartS3WithKeys(t testing.TB, accessKey, secretKey string) *S3Server {
	t.Helper()
	root := require(t, "versitygw", "versitygw.sh", ".tools/bin/versitygw")
	s := &S3Server{AccessKey: accessKey, SecretKey: secretKey,
		dir: filepath.Join(t.TempDir(), "s3"), script: filepath.Join(root, "scripts", "versitygw.sh")}
	s.port = start(t, func(port int) error {
		return runErr(s.script, "start", s.dir, fmt.Sprint(port), s.AccessKey, s.SecretKey)
	})
	s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	t.Cleanup(func() {
		if !s.stopped {
			if err := s.Check(); err != nil {
				t.Error(err)
				s.stopped = true // nothing left to stop; its log is in the error
				return
			}
		}
		logTail(t, s.dir+".log")
		s.Stop(t)
	})
	return s
}

// Check returns an error that says the server died, with the end of its log, when its process
// is gone although the test did not stop it. A test that sees a connection error from the code
// under test can call it to tell the two apart; the test's end calls it too.
func (s *S3Server) Check() error {
	if s.stopped {
		return nil
	}
	return checkAlive("versitygw (the local S3 server)", s.dir)
}

// Start starts the server again on the same port and folder after Stop.
func (s *S3Server) Start(t testing.TB) {
	t.Helper()
	run(t, s.script, "start", s.dir, fmt.Sprint(s.port), s.AccessKey, s.SecretKey)
	s.stopped = false
}

// Stop stops the server; its objects stay for a later Start.
func (s *S3Server) Stop(t testing.TB) {
	t.Helper()
	run(t, s.script, "stop", s.dir)
	s.stopped = true
}

// Settings are AWS settings that reach the server with its root credentials.
func (s *S3Server) Settings() awsx.Settings {
	return awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Region: Region, MaxAttempts: 3}
}

// Client returns an S3 client of the server (path-style, as versitygw needs).
func (s *S3Server) Client(t testing.TB) *s3.Client {
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
func (s *S3Server) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("stlarchive-test-%d-%d", os.Getpid(), seq.Add(1))
	if _, err := s.Client(t).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return name
}

// DynamoDBServer is a running dynalite.
type DynamoDBServer struct {
	Endpoint string
	dir      string
}

// StartDynamoDB starts a dynalite with an empty store; the test's end stops it.
func StartDynamoDB(t testing.TB) *DynamoDBServer {
	t.Helper()
	root := require(t, "dynalite", "dynalite.sh", ".tools/dynalite/node_modules/dynalite/cli.js")
	dir := filepath.Join(t.TempDir(), "dynamodb")
	script := filepath.Join(root, "scripts", "dynalite.sh")
	port := start(t, func(port int) error { return runErr(script, "start", dir, fmt.Sprint(port)) })
	d := &DynamoDBServer{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir}
	t.Cleanup(func() {
		if err := d.Check(); err != nil {
			t.Error(err)
			return
		}
		logTail(t, dir+".log")
		run(t, script, "stop", dir)
	})
	return d
}

// Check returns an error that says the server died, with the end of its log, when its process
// is gone. A test that sees a connection error from the code under test can call it to tell the
// two apart; the test's end calls it too.
func (d *DynamoDBServer) Check() error {
	return checkAlive("dynalite (the local DynamoDB)", d.dir)
}

// checkAlive tells whether the process a server script started for dir (its pid in dir.pid)
// still runs, and when not, returns an error with the end of its log (dir.log).
func checkAlive(what, dir string) error {
	raw, err := os.ReadFile(dir + ".pid")
	if err != nil {
		return fmt.Errorf("%s: no pid file: %w", what, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("%s: pid file %q: %w", what, raw, err)
	}
	if running(pid) {
		return nil
	}
	return fmt.Errorf("%s died during the test (pid %d; errors of the code under test that follow from it are not its own); the end of its log:\n%s",
		what, pid, tail(dir+".log"))
}

// start starts a server on a free port, with a new port when another process took the one
// chosen between the choice and the start (tests of other packages run at the same time).
func start(t testing.TB, fn func(port int) error) int {
	t.Helper()
	var err error
	for range 3 {
		var port int
		if port, err = pgtest.FreePort(); err != nil {
			break
		}
		if err = fn(port); err == nil {
			return port
		}
	}
	t.Fatal(err)
	return 0
}

// logTail shows the end of a server's log when the test failed: the server may be the cause.
func logTail(t testing.TB, path string) {
	if !t.Failed() {
		return
	}
	t.Logf("log of %s:\n%s", filepath.Base(path), tail(path))
}

// running tells whether the process runs: it exists and, where /proc tells, is not a zombie
// (the servers are started in the background by a script that exits, and whoever inherits
// them may be slow to reap them, or never do).
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc here: the signal check is all there is
	}
	// The state follows the command name in parentheses, which may itself hold ')'.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		switch stat[i+2] {
		case 'Z', 'X':
			return false
		}
	}
	return true
}

// tail is the end of a log file, or why it cannot be read.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Settings are AWS settings for the server. dynalite checks that requests are signed, not by whom.
func (d *DynamoDBServer) Settings() awsx.Settings {
	return awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "dynalite", SecretKey: "dynalite", Region: Region, MaxAttempts: 3}
}

// Table returns a table name no other test of the process uses.
func Table(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), seq.Add(1))
}

func run(t testing.TB, script string, args ...string) {
	t.Helper()
	if err := runErr(script, args...); err != nil {
		t.Fatal(err)
	}
}

func runErr(script string, args ...string) error {
	out, err := exec.Command(script, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(script), args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
