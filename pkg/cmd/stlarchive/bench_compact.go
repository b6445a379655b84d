package main

import (
	"context"
	"flag"
	"net/url"
	"os"
	"path/filepath"

	"github.com/stlarchive/redshift-stl-archive/pkg/bench"
)

// benchCompact parses the flags of "stlarchive bench compact"; the benchmark is
// bench.CompactOneDay.
func benchCompact(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench compact", flag.ContinueOnError)
	pg := fs.String("pg", os.Getenv("STLARCHIVE_BENCH_PG"), "URL of a PostgreSQL server where the bench may create a database (or $STLARCHIVE_BENCH_PG)")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "stlarchive-bench-compact"), "folder of the archive (emptied first)")
	factor := fs.Float64("factor", 10, "multiple of the simulator's default rate")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *pg == "" {
		return usagef("--pg is required")
	}
	server, err := url.Parse(*pg)
	if err != nil {
		return usagef("--pg: %v", err)
	}
	return bench.CompactOneDay(ctx, os.Stdout, bench.CompactOptions{Server: server, Dir: *dir, Factor: *factor})
}
