package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var cliBinary string

// buildCLI builds the stlarchive command once.
func buildCLI(t *testing.T) string {
	t.Helper()
	if cliBinary != "" {
		return cliBinary
	}
	dir, err := os.MkdirTemp("", "stlarchive-cli-")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.AtExit(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "stlarchive")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cliBinary = bin
	return bin
}

// writeConfig writes a datasource provisioning file for the clusters, with passwords taken from
// the environment as a real deployment does.
func writeConfig(t *testing.T, dir string, clusters ...*simtest.Cluster) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: 1
datasources:
  - name: archive
    type: stlarchive-redshift-datasource
    jsonData:
      archive: {path: archive}
      export: {interval: 1s, lag: %s, concurrency: 2, lease: 1s}
      clusters:
`, simtest.Lag)
	for _, c := range clusters {
		fmt.Fprintf(&b, "        - {name: %s, host: %s, port: %d, database: %s, user: %s, sslMode: disable}\n",
			c.Cfg.Name, c.Cfg.Host, c.Cfg.Port, c.Cfg.Database, c.Cfg.User)
	}
	b.WriteString("    secureJsonData:\n")
	for _, c := range clusters {
		fmt.Fprintf(&b, "      password.%s: $STLARCHIVE_TEST_PASSWORD\n", c.Cfg.Name)
	}
	path := filepath.Join(dir, "datasource.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type run struct {
	code   int
	signal syscall.Signal
	stdout string
	stderr string
}

func runCLI(t *testing.T, env []string, args ...string) run {
	t.Helper()
	cmd := exec.Command(buildCLI(t), args...)
	cmd.Env = append(os.Environ(), "STLARCHIVE_TEST_PASSWORD="+pgtest.Password)
	cmd.Env = append(cmd.Env, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		ws := exit.Sys().(syscall.WaitStatus)
		r.code = ws.ExitStatus()
		if ws.Signaled() {
			r.signal = ws.Signal()
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func pendingWindows(t *testing.T, statePath string) []state.Progress {
	t.Helper()
	store, err := state.OpenBolt(statePath)
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []state.Progress
	for _, p := range list {
		if p.Pending != nil {
			out = append(out, p)
		}
	}
	return out
}

// TestKillAtEveryProtocolStepLosesAndDuplicatesNothing kills the exporter process with SIGKILL
// at each step of the export protocol while the clusters keep working, restarts it, and then
// compares the archive with the source, table by table.
func TestKillAtEveryProtocolStepLosesAndDuplicatesNothing(t *testing.T) {
	a := simtest.New(t, "kill-a", 3)
	b := simtest.New(t, "kill-b", 3)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, a, b)
	statePath := filepath.Join(dir, "archive", ".state", "export.db")
	a.History(t, 30*time.Minute)
	b.History(t, 30*time.Minute)
	stopA, stopB := a.Run(t), b.Run(t)

	steps := []struct {
		at          string
		wantPending bool
	}{
		{"pending", true},
		{"writing", true},
		{"written", true},
		{"committed", false},
		{"writing:stl_querytext", true},
		{"pending:stl_scan", true},
		{"written:stl_wlm_query", true},
		{"committed:stl_explain", false},
	}
	for _, s := range steps {
		r := runCLI(t, []string{"STLARCHIVE_TEST_KILL_AT=" + s.at}, "export", "--once", "--config", cfgPath)
		if r.signal != syscall.SIGKILL {
			t.Fatalf("kill at %s: the exporter was not killed (exit %d)\n%s", s.at, r.code, r.stderr)
		}
		pending := pendingWindows(t, statePath)
		if s.wantPending && len(pending) == 0 {
			t.Errorf("kill at %s: no pending window left to redo", s.at)
		}
		t.Logf("killed at %s: %d pending window(s)", s.at, len(pending))
		// The killed exporter's lease expires before the next one starts.
		time.Sleep(1200 * time.Millisecond)
	}
	if r := runCLI(t, nil, "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("export after the kills: exit %d\n%s", r.code, r.stderr)
	}
	if p := pendingWindows(t, statePath); len(p) != 0 {
		t.Errorf("a clean run left pending windows: %v", p)
	}
	stopA()
	stopB()
	simtest.WaitPastLag(t, a, a.SourceNow(t))
	simtest.WaitPastLag(t, b, b.SourceNow(t))
	if r := runCLI(t, nil, "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("final export: exit %d\n%s", r.code, r.stderr)
	}
	store, err := state.OpenBolt(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*simtest.Cluster{a, b} {
		simtest.AssertArchiveEqualsSource(t, filepath.Join(dir, "archive"), store, c)
	}

	r := runCLI(t, nil, "status", "--json", "--config", cfgPath)
	if r.code != 0 {
		t.Fatalf("status: exit %d\n%s", r.code, r.stderr)
	}
	var st []export.TableStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	if len(st) != 16 {
		t.Errorf("status lists %d (cluster, table) pairs, want 16", len(st))
	}
	for _, s := range st {
		if s.Rows == 0 || s.Watermark == nil || s.LastError != "" {
			t.Errorf("status %s/%s: rows %d, watermark %v, error %q", s.Cluster, s.Table, s.Rows, s.Watermark, s.LastError)
		}
	}
}

func TestExportExitsNonZeroNamingEachFailedCluster(t *testing.T) {
	good := simtest.New(t, "cli-good", 1)
	good.History(t, 5*time.Minute)
	bad := *good
	bad.Cfg.Name, bad.Cfg.Port = "cli-bad", 1
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, good, &bad)
	r := runCLI(t, nil, "export", "--once", "--config", cfgPath)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "cli-bad") || !strings.Contains(r.stderr, "1 of 2 clusters failed") {
		t.Errorf("stderr does not name the failed cluster:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, pgtest.Password+"@") {
		t.Errorf("stderr shows the password:\n%s", r.stderr)
	}
	r = runCLI(t, nil, "status", "--config", cfgPath)
	if r.code != 0 || !strings.Contains(r.stdout, "cli-bad") || !strings.Contains(r.stdout, "connect") {
		t.Errorf("status does not show the failure (exit %d):\n%s", r.code, r.stdout)
	}
}

func TestBadConfigExitsTwoNamingTheField(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ds.yaml")
	os.WriteFile(path, []byte(`apiVersion: 1
datasources:
  - name: archive
    type: stlarchive-redshift-datasource
    jsonData:
      archive: {path: archive}
      clusters:
        - {name: c1, host: h, port: 70000, database: dev, user: u}
    secureJsonData:
      password.c1: x
`), 0o600)
	r := runCLI(t, nil, "export", "--once", "--config", path)
	if r.code != 2 || !strings.Contains(r.stderr, "jsonData.clusters[0].port") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// Every command and subcommand answers -h and --help with its usage on stdout and status 0.
func TestHelpExitsZeroOnStdoutForEveryCommand(t *testing.T) {
	bin := buildCLI(t)
	for _, cmd := range [][]string{{}, {"export"}, {"status"}, {"check"}, {"simulate"}, {"query"}, {"catalog"},
		{"bench"}, {"bench", "export"}, {"bench", "idle"}, {"bench", "query"}} {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, cmd...), h)
			c := exec.Command(bin, args...)
			var stdout, stderr strings.Builder
			c.Stdout, c.Stderr = &stdout, &stderr
			if err := c.Run(); err != nil {
				t.Errorf("stlarchive %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
				continue
			}
			if !strings.Contains(strings.ToLower(stdout.String()), "usage") {
				t.Errorf("stlarchive %s: no usage on stdout: %q (stderr %q)", strings.Join(args, " "), stdout.String(), stderr.String())
			}
		}
	}
}

// TestExportOnceExitsThreeNamingClustersHeldByAnotherExporter holds one cluster's lease from a
// second state handle, as another exporter would, and checks that "export --once" exports the
// other cluster, names the held one with the holder's expiry, and exits 3; with a failed cluster
// as well, the failure wins (exit 1) and both are named.
func TestExportOnceExitsThreeNamingClustersHeldByAnotherExporter(t *testing.T) {
	free := simtest.New(t, "lease-free", 1)
	held := simtest.New(t, "lease-held", 1)
	free.History(t, 5*time.Minute)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, free, held)
	statePath := filepath.Join(dir, "archive", ".state", "export.db")
	other, err := state.OpenBolt(statePath)
	if err != nil {
		t.Fatal(err)
	}
	got, lease, err := other.Acquire(context.Background(), "lease-held", "other-host:4242", time.Hour)
	if err != nil || !got {
		t.Fatalf("take the lease: %v %v", got, err)
	}
	until := lease.Expires.UTC().Format(time.RFC3339)

	r := runCLI(t, nil, "export", "--once", "--config", cfgPath)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	want := "cluster lease-held skipped: held by another exporter (other-host:4242) until " + until
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "1 of 2 clusters skipped") {
		t.Errorf("stderr does not name the held cluster and its lease's expiry (%q):\n%s", want, r.stderr)
	}
	if strings.Contains(r.stderr, "cluster lease-free skipped") || strings.Contains(r.stderr, "failed") {
		t.Errorf("stderr names a cluster that was exported:\n%s", r.stderr)
	}
	if p, err := other.Get(context.Background(), "lease-free", "stl_query"); err != nil || p.Watermark.IsZero() {
		t.Errorf("the free cluster was not exported: %+v %v", p, err)
	}
	if p, err := other.Get(context.Background(), "lease-held", "stl_query"); err != nil || !p.Watermark.IsZero() {
		t.Errorf("the held cluster was exported: %+v %v", p, err)
	}

	bad := *free
	bad.Cfg.Name, bad.Cfg.Port = "lease-bad", 1
	cfgPath = writeConfig(t, dir, free, held, &bad)
	r = runCLI(t, nil, "export", "--once", "--config", cfgPath)
	if r.code != 1 {
		t.Fatalf("with a failed and a held cluster: exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, s := range []string{want, "1 of 3 clusters skipped", "1 of 3 clusters failed", "lease-bad"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

// TestUnusableArchivePathExitsTwoNamingTheField points the archive at folders that cannot be
// created or written: under /proc, under a regular file, and a read-only folder (as an
// unprivileged user, since root writes anywhere). export fails with one line naming
// jsonData.archive.path and exit 2; check still reports the cluster, and exits 2 as well.
func TestUnusableArchivePathExitsTwoNamingTheField(t *testing.T) {
	c := simtest.New(t, "badpath", 0)
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Every folder on the way to the read-only one must be open to nobody, or the test would
	// only show that nobody cannot reach it.
	open, err := os.MkdirTemp("", "stlarchive-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(open) })
	readOnly := filepath.Join(open, "read-only")
	for _, err := range []error{os.Chmod(open, 0o755), os.Mkdir(readOnly, 0o555)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, path string
		asNobody   bool
	}{
		{"under /proc", "/proc/stlarchive-archive", false},
		{"under a regular file", filepath.Join(file, "archive"), false},
		{"read-only folder", readOnly, os.Geteuid() == 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfgDir := t.TempDir()
			if tc.asNobody {
				cfgDir = filepath.Join(open, "config")
				if err := os.Mkdir(cfgDir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cfgPath := writeConfig(t, cfgDir, c)
			raw, _ := os.ReadFile(cfgPath)
			raw = []byte(strings.Replace(string(raw), "archive: {path: archive}", fmt.Sprintf("archive: {path: %q}", tc.path), 1))
			if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(cfgPath, 0o644); err != nil { // writeConfig made it 0600
				t.Fatal(err)
			}
			run := func(args ...string) run { return runCLI(t, nil, args...) }
			if tc.asNobody {
				run = runAsNobody(t, open, cfgDir)
			}
			r := run("export", "--once", "--config", cfgPath)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "jsonData.archive.path") || !strings.Contains(lines[0], tc.path) {
				t.Errorf("export: exit %d, want 2 and one line naming jsonData.archive.path and %s:\n%s", r.code, tc.path, r.stderr)
			}
			r = run("check", "--config", cfgPath)
			if r.code != 2 || !strings.Contains(r.stdout, "jsonData.archive.path") || !strings.Contains(r.stdout, "cluster badpath: reachable") {
				t.Errorf("check: exit %d, want 2 with the archive problem and the cluster:\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			t.Logf("export: %s", lines[0])
		})
	}
}

// runAsNobody runs the CLI as user nobody, for whom permission bits count, from a copy of the
// binary in open, a folder open to everyone.
func runAsNobody(t *testing.T, open, cfgDir string) func(args ...string) run {
	t.Helper()
	bin := filepath.Join(open, "stlarchive")
	data, err := os.ReadFile(buildCLI(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) run {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "STLARCHIVE_TEST_PASSWORD="+pgtest.Password)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Dir = cfgDir
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := run{stdout: out.String(), stderr: errb.String()}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			r.code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	}
}
