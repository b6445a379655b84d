package main

import (
	"context"
	"flag"
	"net/url"
	"os"
	"path/filepath"

	"github.com/stlarchive/redshift-stl-archive/pkg/bench"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
)

// runBenchQuery parses the flags of "stlarchive bench query"; the benchmark is
// bench.QueryVsSource.
func runBenchQuery(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench query", flag.ContinueOnError)
	pg := fs.String("pg", os.Getenv("STLARCHIVE_BENCH_PG"), "URL of a PostgreSQL server where the bench may create databases (or $STLARCHIVE_BENCH_PG)")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "stlarchive-bench-query"), "folder of the archive and its state, reused between runs")
	n := fs.Int("clusters", 10, "simulated clusters")
	days := fs.Int("days", 30, "days of history per cluster")
	rate := fs.Float64("rate", sim.DefaultOptions().Rate, "mean queries per second per cluster")
	runs := fs.Int("runs", 5, "timed runs of each query")
	only := fs.String("tables", "", "comma-separated tables to export (default all; stl_query is all query_volume needs)")
	dashboard := fs.String("dashboard", "provisioning/dashboards/stlarchive/overview.json", "overview dashboard whose panels are timed")
	layout := fs.String("layout", "backfill", `"backfill": one object per table, cluster and day; "steady": one per export interval, as a live exporter writes them (288 a day at 5m), timed before and after compaction`)
	memory := fs.Int("memory-mb", 0, "memory limit of each embedded engine worker in MiB (default query.memoryLimitMB's); before compaction one query binds every window object of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *pg == "" {
		return usagef("--pg is required")
	}
	if *layout != "backfill" && *layout != "steady" {
		return usagef("--layout: want backfill or steady, got %q", *layout)
	}
	server, err := url.Parse(*pg)
	if err != nil {
		return usagef("--pg: %v", err)
	}
	return bench.QueryVsSource(ctx, os.Stdout, bench.QueryOptions{Server: server, Dir: *dir, Clusters: *n, Days: *days, Rate: *rate,
		Runs: *runs, Tables: *only, Dashboard: *dashboard, Layout: *layout, MemoryMB: *memory})
}
