package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/bench"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
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
	res, err := bench.ExportVsFloor(ctx, os.Stdout, bench.ExportOptions{URL: *dbURL, Rows: *rows, Runs: *runs})
	if err != nil {
		return err
	}
	if res.Ratio > bench.TargetRatio || (res.PeakRSS > 0 && res.PeakRSS > bench.TargetPeakRSS) {
		fmt.Printf("MISSED a target: ratio %.2f (≤ %.1f), peak RSS %d MiB (≤ %d MiB)\n", res.Ratio, bench.TargetRatio, res.PeakRSS>>20, bench.TargetPeakRSS>>20)
	}
	return nil
}

// benchIdle measures a cycle of the real exporter over clusters whose tables hold no new rows:
// the cost of the schedule itself, which a large fleet pays every interval.
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
	port, _ := strconv.Atoi(u.Port())
	password, _ := u.User.Password()
	dir, err := os.MkdirTemp("", "stlarchive-bench-idle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Defaults()
	cfg.Archive.Path = filepath.Join(dir, "archive")
	cfg.State.Path = filepath.Join(dir, "state.db")
	cfg.Export.Concurrency = 4
	cfg.Export.Lag = 0
	for i := range *n {
		c := config.DefaultCluster()
		c.Name = fmt.Sprintf("idle-%02d", i)
		c.Host, c.Port, c.User, c.Password = u.Hostname(), port, u.User.Username(), config.Secret(password)
		c.Database = "bench_idle_" + strconv.Itoa(i)
		c.SSLMode = u.Query().Get("sslmode")
		if c.SSLMode == "" {
			c.SSLMode = "disable"
		}
		if err := createDatabase(ctx, c); err != nil {
			return err
		}
		if err := withConn(ctx, c, func(conn *pgx.Conn) error { return sim.Create(ctx, conn) }); err != nil {
			return err
		}
		cfg.Clusters = append(cfg.Clusters, c)
	}
	exp, err := export.Open(cfg, export.Options{})
	if err != nil {
		return err
	}
	defer exp.Close()
	// The first cycle connects and records each table's starting point.
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			return err
		}
	}
	pairs := *n * len(tables.Names())
	var idle, base []time.Duration
	var asked int64
	for range *cycles {
		time.Sleep(1100 * time.Millisecond) // windows of at least a second
		before := exp.QueryCount()
		start := time.Now()
		for _, r := range exp.Cycle(ctx) {
			if err := r.Failed(); err != nil {
				return err
			}
		}
		idle = append(idle, time.Since(start))
		asked = max(asked, exp.QueryCount()-before)
		d, err := trivialQueries(ctx, cfg.Clusters, len(tables.Names()))
		if err != nil {
			return err
		}
		base = append(base, d)
	}
	mi, mb := median(idle), median(base)
	fmt.Printf("idle cycle over %d clusters × %d tables (%d pairs), %d cycles\n", *n, len(tables.Names()), pairs, *cycles)
	fmt.Printf("  idle cycle median     %8.3f s   (target ≤ 2 s)   runs %s\n", mi.Seconds(), durations(idle))
	fmt.Printf("  baseline median       %8.3f s   (one SELECT 1 per pair on fresh connections, sequential per cluster)\n", mb.Seconds())
	fmt.Printf("  ratio idle/baseline   %8.2f\n", mi.Seconds()/mb.Seconds())
	fmt.Printf("  queries per cycle     %8d     (target ≤ %d, one per pair)\n", asked, pairs)
	if mi > 2*time.Second || asked > int64(pairs) {
		fmt.Println("MISSED a target")
	}
	return nil
}

// trivialQueries is the baseline: per cluster, connect and send one trivial query per table.
func trivialQueries(ctx context.Context, clusters []config.Cluster, perCluster int) (time.Duration, error) {
	start := time.Now()
	errs := make(chan error, len(clusters))
	sem := make(chan struct{}, 4)
	for _, c := range clusters {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- withConn(ctx, c, func(conn *pgx.Conn) error {
				for range perCluster {
					if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	for range clusters {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func withConn(ctx context.Context, c config.Cluster, fn func(*pgx.Conn) error) error {
	cc, err := redshift.ConnConfig(c)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("cluster %s: connect: %w", c.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.3f", d.Seconds())
	}
	return strings.Join(parts, " ")
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
	port, _ := strconv.Atoi(u.Port())
	password, _ := u.User.Password()
	c := config.DefaultCluster()
	c.Host, c.Port, c.User, c.Password = u.Hostname(), port, u.User.Username(), config.Secret(password)
	c.SSLMode = u.Query().Get("sslmode")
	if c.SSLMode == "" {
		c.SSLMode = "disable"
	}
	_, err = bench.VerifyVsIdle(ctx, os.Stdout, bench.VerifyOptions{Cluster: c, Clusters: *n, History: *history,
		Rate: *rate, Window: *window, Runs: *runs, Reuse: *reuse})
	return err
}
