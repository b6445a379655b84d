package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

// The scripts the README and docs/benchmarks.md tell a user to run, run as a user runs them:
// from the repository root, through bash, building bin/stlarchive.

// scriptDir makes a folder for a script's throwaway PostgreSQL: the server runs as user
// postgres when the tests run as root, and must reach it.
func scriptDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// lockedBuffer collects a background process's output for a test that reads it meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listening tells whether a server accepts connections on the loopback port.
func listening(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func requirePostgres(t *testing.T) {
	t.Helper()
	if !pgtest.Installed() {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is not installed; CI must install it (scripts/postgres.sh install)")
		}
		t.Skip("PostgreSQL is not installed: run scripts/postgres.sh install")
	}
}

// TestBenchScriptRunsTheExportBenchmarkOfTheDocs runs scripts/bench.sh, which builds
// bin/stlarchive and starts its own PostgreSQL, on a tiny table.
func TestBenchScriptRunsTheExportBenchmarkOfTheDocs(t *testing.T) {
	requirePostgres(t)
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("scripts/bench.sh", "export", "--rows", "2000", "--runs", "1")
	cmd.Dir = repoFile(t, "")
	cmd.Env = append(os.Environ(), fmt.Sprintf("STLARCHIVE_BENCH_PORT=%d", port), "TMPDIR="+scriptDir(t, "stlarchive-benchsh-"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/bench.sh: %v\n%s", err, out)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`export vs floor on \S+: 2000 rows`),
		regexp.MustCompile(`ratio export/floor\s+\d+\.\d\d`),
		regexp.MustCompile(`export peak RSS\s+\d+\.\d MiB`),
	} {
		if !re.Match(out) {
			t.Errorf("scripts/bench.sh output lacks %q:\n%s", re, out)
		}
	}
	if listening(port) {
		t.Errorf("the script's PostgreSQL still listens on %d after it ended", port)
	}
}

// TestDemoScriptAndItsFollowUpCommands runs scripts/demo.sh with a short history on a free port,
// waits until its status shows rows of every demo cluster, runs the commands the README gives
// for another terminal, and stops the demo with SIGINT to its process group, as Ctrl-C does.
// The demo must end with status 0 and stop its PostgreSQL.
func TestDemoScriptAndItsFollowUpCommands(t *testing.T) {
	requirePostgres(t)
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	demoDir := filepath.Join(scriptDir(t, "stlarchive-demo-"), "demo")
	env := append(os.Environ(), "STLARCHIVE_DEMO_DIR="+demoDir, fmt.Sprintf("STLARCHIVE_DEMO_PORT=%d", port),
		"STLARCHIVE_DEMO_BACKFILL=10m")
	root := repoFile(t, "")
	script := func(args ...string) (string, string, error) {
		cmd := exec.Command("scripts/demo.sh", args...)
		cmd.Dir, cmd.Env = root, env
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}

	demo := exec.Command("scripts/demo.sh")
	demo.Dir, demo.Env = root, env
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuffer
	demo.Stdout, demo.Stderr = &out, &out
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- demo.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			syscall.Kill(-demo.Process.Pid, syscall.SIGINT)
			<-ended
		}
		if t.Failed() {
			for _, log := range []string{"simulate.log", "export.log"} {
				b, _ := os.ReadFile(filepath.Join(demoDir, log))
				t.Logf("%s:\n%s", log, b)
			}
		}
	})

	// Every demo cluster has rows in status. The deadline only bounds a demo that never exports.
	clusters := []string{"demo-east", "demo-west", "demo-eu"}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case err := <-ended:
			stopped = true
			t.Fatalf("the demo ended (%v) before it exported:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rows of every demo cluster in status within 3 minutes:\n%s", out.String())
		}
		if stdout, _, err := script("stlarchive", "status", "--json"); err == nil {
			var st []export.TableStatus
			if json.Unmarshal([]byte(stdout), &st) == nil {
				rows := map[string]int64{}
				for _, s := range st {
					if s.Table == "stl_query" {
						rows[s.Cluster] = s.Rows
					}
				}
				if rows[clusters[0]] > 0 && rows[clusters[1]] > 0 && rows[clusters[2]] > 0 {
					break
				}
			}
		}
		time.Sleep(time.Second)
	}

	stdout, stderr, err := script("status")
	if err != nil || !strings.HasPrefix(stdout, "CLUSTER") {
		t.Errorf("scripts/demo.sh status: %v\n%s%s", err, stdout, stderr)
	}
	for _, c := range clusters {
		if !regexp.MustCompile(`(?m)^` + c + `\s+stl_query\s+\S+ \S+\s+\S+\s+[1-9]\d*\s`).MatchString(stdout) {
			t.Errorf("scripts/demo.sh status shows no stl_query rows of %s:\n%s", c, stdout)
		}
	}
	stdout, stderr, err = script("stlarchive", "query", "--preset", "query_volume", "--from", "-1h", "--interval", "10m")
	if err != nil || !strings.Contains(stdout, "queries demo-east") {
		t.Errorf("query --preset query_volume: %v\n%s%s", err, stdout, stderr)
	}
	stdout, stderr, err = script("stlarchive", "query", "SELECT cluster, count(*) FROM stl_query WHERE $__timeFilter(endtime) GROUP BY 1 ORDER BY 1",
		"--format", "csv")
	if err != nil || !regexp.MustCompile(`(?s)demo-east,[1-9].*demo-eu,[1-9].*demo-west,[1-9]`).MatchString(stdout) {
		t.Errorf("query SQL: %v\n%s%s", err, stdout, stderr)
	}
	stdout, stderr, err = script("stlarchive", "check")
	if err != nil || !strings.Contains(stdout, "cluster demo-east: reachable") {
		t.Errorf("check: %v\n%s%s", err, stdout, stderr)
	}

	if err := syscall.Kill(-demo.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		stopped = true
		if err != nil {
			t.Errorf("the demo ended with %v after Ctrl-C:\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the demo did not stop within 2 minutes of Ctrl-C:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "stopped. The archive stays in") {
		t.Errorf("the demo did not say it stopped:\n%s", out.String())
	}
	if listening(port) {
		t.Errorf("the demo's PostgreSQL still listens on %d after Ctrl-C", port)
	}
}
