package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
)

// TestQueryShowsSimulatedClustersSideBySide does what a new user does after the demo: export,
// then ask for a diagnostic and for SQL.
func TestQueryShowsSimulatedClustersSideBySide(t *testing.T) {
	dir := t.TempDir()
	a, b := simtest.New(t, "east", 1), simtest.New(t, "west", 1)
	var last time.Time
	for _, c := range []*simtest.Cluster{a, b} {
		last = c.History(t, 30*time.Minute)
	}
	cfgPath := writeConfig(t, dir, a, b)
	simtest.WaitPastLag(t, a, last)
	simtest.WaitPastLag(t, b, last)
	if r := runCLI(t, nil, "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("export: %d\n%s", r.code, r.stderr)
	}

	r := runCLI(t, nil, "query", "--config", cfgPath, "--preset", "query_volume", "--from", "-1h", "--interval", "10m", "--format", "csv")
	if r.code != 0 {
		t.Fatalf("query_volume: exit %d\n%s", r.code, r.stderr)
	}
	records, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(records[0], ","); got != "time,queries east,queries west" {
		t.Errorf("header %q, want the clusters side by side", got)
	}
	if len(records) < 4 {
		t.Errorf("only %d rows for 30 minutes of history in 10-minute buckets:\n%s", len(records)-1, r.stdout)
	}

	r = runCLI(t, nil, "query", "SELECT cluster, count(*) AS n FROM stl_query WHERE $__timeFilter(endtime) AND $__clusterFilter GROUP BY 1",
		"--config", cfgPath, "--clusters", "west", "--format", "json", "--verbose")
	if r.code != 0 {
		t.Fatalf("sql: exit %d\n%s", r.code, r.stderr)
	}
	var rows []struct {
		Cluster string
		N       int64
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if len(rows) != 1 || rows[0].Cluster != "west" || rows[0].N == 0 {
		t.Errorf("rows %+v, want west alone with its queries", rows)
	}
	if !strings.Contains(r.stderr, "cluster IN ('west')") || strings.Contains(r.stderr, "$__") {
		t.Errorf("--verbose does not show the expanded SQL:\n%s", r.stderr)
	}

	r = runCLI(t, nil, "query", "--config", cfgPath, "--preset", "top_queries", "--limit", "3")
	if r.code != 0 {
		t.Fatalf("top_queries: exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "cluster") || !strings.Contains(r.stderr, "truncated") {
		t.Errorf("top_queries with --limit 3: want a header, 3 rows and a truncation warning:\n%s\n%s", r.stdout, r.stderr)
	}

	r = runCLI(t, nil, "query", "--config", cfgPath, "SELECT * FROM read_csv('/etc/passwd')")
	if r.code != 2 || !strings.Contains(r.stderr, "read_csv is not allowed") || r.stdout != "" {
		t.Errorf("a refused query: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// Errors a user can act on: one prefix, their own SQL in DuckDB's excerpt, never the
	// archive's path — also when DuckDB's message is about one of the archive's files.
	archive, err := filepath.EvalSymlinks(filepath.Join(dir, "archive"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(archive, "stl_query", "cluster=east", "day=2000-01-01", "0000-corrupt.parquet")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SELECT no_such_column FROM stl_ddltext", "SELECT 1 +", "SELECT count(*) FROM stl_query"} {
		r = runCLI(t, nil, "query", "--config", cfgPath, q)
		if r.code == 0 || !strings.HasPrefix(r.stderr, "stlarchive query: ") || strings.Count(r.stderr, "stlarchive query: ") != 1 || strings.Contains(r.stderr, "query: query:") ||
			strings.Contains(r.stderr, "stl_archive_result") || strings.Contains(r.stderr, "SELECT * FROM (") ||
			strings.Contains(r.stderr, archive) || strings.Contains(r.stderr, dir) {
			t.Errorf("%s: exit %d, stderr %q", q, r.code, r.stderr)
		}
	}
}

// The CLI runs queries in the same worker processes as the plugin: a query stuck in one
// function call is stopped at its time limit, one that needs too much memory fails saying so,
// and neither takes the CLI's own memory with it.
func TestQueryLimitsHoldInTheCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "datasource.yaml")
	if err := os.WriteFile(cfg, []byte(`apiVersion: 1
datasources:
  - name: archive
    type: stlarchive-redshift-datasource
    jsonData:
      archive: {path: archive}
      export: {enabled: false}
      query: {timeout: 2s, memoryLimitMB: 256, workers: 1}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	buildCLI(t) // before the clock starts
	for q, want := range map[string]string{
		"SELECT levenshtein(repeat('a', 100000), repeat('b', 100000))": "query time limit exceeded (limit 2s)",
		"SELECT len(range(200000000)) AS n":                            "query memory limit exceeded",
		"SELECT pg_get_viewdef(1)":                                     "function pg_get_viewdef is not allowed",
	} {
		began := time.Now()
		r := runCLI(t, nil, "query", "--config", cfg, q)
		took := time.Since(began)
		if r.code != 2 || !strings.Contains(r.stderr, want) || !strings.HasPrefix(r.stderr, "stlarchive query: ") {
			t.Errorf("%s: exit %d, stderr %q, want %q", q, r.code, r.stderr, want)
		}
		// The CLI starts, runs and exits within the limit plus a second, worker start included.
		if strings.Contains(want, "time limit") && took > 2*time.Second+2*time.Second {
			t.Errorf("%s: took %s", q, took)
		}
	}
}
