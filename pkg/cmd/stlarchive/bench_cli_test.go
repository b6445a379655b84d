package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

// TestBenchCommandsOfTheBuiltBinaryPrintTheirRatios runs each benchmark of docs/benchmarks.md
// through the compiled stlarchive, at a tiny size: 'bench export' re-executes that binary for
// each export it measures, which a test of pkg/bench (re-executing its test binary) cannot
// show. Each must finish with status 0 and print its ratio against the baseline of its run.
func TestBenchCommandsOfTheBuiltBinaryPrintTheirRatios(t *testing.T) {
	url := pgtest.Database(t, "benchcli")
	benches := []struct {
		name string
		args []string
		want []*regexp.Regexp
	}{
		{"export", []string{"bench", "export", "--url", url, "--rows", "3000", "--runs", "1"}, []*regexp.Regexp{
			regexp.MustCompile(`export vs floor on \S+: 3000 rows`),
			regexp.MustCompile(`ratio export/floor\s+\d+\.\d\d`),
			regexp.MustCompile(`export peak RSS\s+\d+\.\d MiB`),
			regexp.MustCompile(`parquet file\s+\d+\.\d MiB, 3000 rows`),
		}},
		{"idle", []string{"bench", "idle", "--url", url, "--clusters", "2", "--cycles", "1"}, []*regexp.Regexp{
			regexp.MustCompile(`idle cycle over 2 clusters × 8 tables \(16 pairs\), 1 cycles`),
			regexp.MustCompile(`idle cycle median\s+\d+\.\d{3} s`),
			regexp.MustCompile(`ratio idle/baseline\s+\d+\.\d\d`),
			regexp.MustCompile(`queries per cycle\s+\d+`),
		}},
		{"query", []string{"bench", "query", "--pg", pgtest.Shared(t).URL("postgres"), "--dir", t.TempDir(),
			"--clusters", "1", "--days", "1", "--rate", "0.02", "--runs", "1", "--tables", "stl_query",
			"--dashboard", repoFile(t, "provisioning/dashboards/stlarchive/overview.json")}, []*regexp.Regexp{
			regexp.MustCompile(`source: 1 clusters × 1 days, [1-9]\d* stl_query rows`),
			regexp.MustCompile(`archive: [1-9]\d* rows exported`),
			regexp.MustCompile(`ratio: \d+\.\d× faster`),
			regexp.MustCompile(`every panel, one after another\s+\S+`),
		}},
		{"query, steady layout", []string{"bench", "query", "--pg", pgtest.Shared(t).URL("postgres"), "--dir", t.TempDir(),
			"--clusters", "1", "--days", "1", "--rate", "0.02", "--runs", "1", "--tables", "stl_query,stl_querytext", "--layout", "steady",
			"--dashboard", repoFile(t, "provisioning/dashboards/stlarchive/overview.json")}, []*regexp.Regexp{
			regexp.MustCompile(`archive: [1-9]\d* objects split into [1-9]\d* windows of 5m0s`),
			regexp.MustCompile(`before compaction: \d+ objects in [1-9]\d* closed \(table, cluster, day\)s: \d+\.\d per day on average, ([2-9]|\d\d+) at most`),
			regexp.MustCompile(`compacted in \S+: (\d+) objects in (\d+) closed \(table, cluster, day\)s: 1\.0 per day on average, 1 at most`),
			regexp.MustCompile(`every panel at once, as Grafana asks\s+\S+`),
			regexp.MustCompile(`query_volume\s+\S+\s+\S+\s+\S+`),
		}},
	}
	for _, b := range benches {
		r := runCLI(t, nil, b.args...)
		if r.code != 0 {
			t.Fatalf("bench %s: exit %d\n%s\n%s", b.name, r.code, r.stdout, r.stderr)
		}
		for _, re := range b.want {
			if !re.MatchString(r.stdout) {
				t.Errorf("bench %s: output lacks %q:\n%s", b.name, re, r.stdout)
			}
		}
		if strings.Contains(r.stdout+r.stderr, pgtest.Password+"@") {
			t.Errorf("bench %s shows the database password:\n%s\n%s", b.name, r.stdout, r.stderr)
		}
		t.Logf("bench %s:\n%s", b.name, r.stdout)
	}
}

// TestBenchChildWithoutItsEnvironmentIsUsage keeps the re-executed export child from hiding a
// plain mistake: without the child's variable, no arguments is still a usage error.
func TestBenchChildWithoutItsEnvironmentIsUsage(t *testing.T) {
	r := runCLI(t, nil)
	if r.code != 2 || !strings.Contains(r.stderr, "usage: stlarchive") {
		t.Errorf("no arguments: exit %d, stderr %q", r.code, r.stderr)
	}
}
