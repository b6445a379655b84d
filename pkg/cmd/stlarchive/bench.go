package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/bench"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
)

const benchUsage = `usage: stlarchive bench <export|idle|query|verify|compact> --url postgres://USER:PASSWORD@HOST:PORT/DB [flags]

  export   export a 1M-row stl_scan-shaped table to Parquet, against the raw read floor
           (pgx COPY … TO STDOUT into io.Discard), with the export's peak RSS
  idle     an idle cycle over many clusters × 8 tables: time and queries asked,
           against a baseline of one trivial query per (cluster, table)
  verify   one verification pass over many clusters × 8 tables with archived history:
           time, statements and its share of the exporter, against the idle export cycle
  query    the query-volume preset on the embedded engine against the same SQL on the
           source PostgreSQL, over 30 days × 10 clusters; p50 of the overview dashboard
           (--layout steady: one object per export interval, before and after compaction)
  compact  compaction of one day of stl_scan at 10× the simulator's rate: time, peak RSS

The database URL can also come from STLARCHIVE_BENCH_DATABASE_URL. scripts/bench.sh starts a
throwaway PostgreSQL and runs both.
`

// benchChild runs the export child of 'bench export' when the environment asks for one: the
// benchmark re-executes this binary to read the export's peak memory from the kernel.
func benchChild() func() int {
	if os.Getenv(bench.ChildEnv) == "" {
		return nil
	}
	return func() int {
		if _, err := bench.RunChildFromEnv(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
}

func runBench(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, benchUsage)
		return usagef("bench needs a benchmark name")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(usageOut, benchUsage)
		return flag.ErrHelp
	case "export":
		return benchExport(ctx, args[1:])
	case "idle":
		return benchIdle(ctx, args[1:])
	case "query":
		return runBenchQuery(ctx, args[1:])
	case "verify":
		return benchVerify(ctx, args[1:])
	case "compact":
		return benchCompact(ctx, args[1:])
	}
	fmt.Fprint(os.Stderr, benchUsage)
	return usagef("unknown benchmark %q", args[0])
}

func benchURL(fs *flag.FlagSet) *string {
	return fs.String("url", os.Getenv("STLARCHIVE_BENCH_DATABASE_URL"), "PostgreSQL database URL")
}

func benchExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench export", flag.ContinueOnError)
	dbURL := benchURL(fs)
	rows := fs.Int("rows", 1_000_000, "rows in the stl_scan-shaped table")
	runs := fs.Int("runs", 3, "interleaved runs of each measurement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbURL == "" {
		return usagef("--url is required")
	}
	return bench.ExportAgainstTargets(ctx, os.Stdout, bench.ExportOptions{URL: *dbURL, Rows: *rows, Runs: *runs})
}

// benchIdle parses the flags of "stlarchive bench idle"; the benchmark is bench.IdleVsTrivial.
func benchIdle(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench idle", flag.ContinueOnError)
	dbURL := benchURL(fs)
	n := fs.Int("clusters", 20, "simulated clusters (one database each)")
	cycles := fs.Int("cycles", 5, "idle cycles measured")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbURL == "" {
		return usagef("--url is required")
	}
	u, err := url.Parse(*dbURL)
	if err != nil {
		return usagef("--url: %v", err)
	}
	return bench.IdleVsTrivial(ctx, os.Stdout, bench.IdleOptions{Server: u, Clusters: *n, Cycles: *cycles})
}

// benchVerify measures a verification pass against the idle export cycle (pkg/bench).
func benchVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench verify", flag.ContinueOnError)
	dbURL := benchURL(fs)
	n := fs.Int("clusters", 20, "simulated clusters (one database each)")
	history := fs.Duration("history", 2*time.Hour, "activity each cluster holds")
	rate := fs.Float64("rate", 1, "stl_query rows per second of activity")
	window := fs.Duration("window", config.DefaultInterval, "export window (the export interval)")
	runs := fs.Int("runs", 3, "idle cycles and passes measured")
	reuse := fs.Bool("reuse", false, "keep the databases a previous run filled")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbURL == "" {
		return usagef("--url is required")
	}
	u, err := url.Parse(*dbURL)
	if err != nil {
		return usagef("--url: %v", err)
	}
	c := bench.ServerCluster(u)
	_, err = bench.VerifyVsIdle(ctx, os.Stdout, bench.VerifyOptions{Cluster: c, Clusters: *n, History: *history,
		Rate: *rate, Window: *window, Runs: *runs, Reuse: *reuse})
	return err
}
