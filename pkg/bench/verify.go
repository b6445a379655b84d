package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// VerifyOptions configure VerifyVsIdle. Cluster is the template of the simulated clusters'
// connection (host, port, user, password, sslMode); each gets a database of its own.
type VerifyOptions struct {
	Cluster  config.Cluster
	Clusters int
	// History is the simulated activity each cluster holds, at Rate stl_query rows per second,
	// exported in windows of Window (the export interval) before the measurement.
	History time.Duration
	Rate    float64
	Window  time.Duration
	// Runs is the number of idle cycles and of verification passes measured.
	Runs int
	// Reuse keeps the databases a previous run filled (same clusters, history and rate).
	Reuse bool
}

// VerifyResult is what VerifyVsIdle measured (medians).
type VerifyResult struct {
	Pass, IdleCycle time.Duration
	// Statements is the number of statements one pass sent in all; Windows the windows it
	// compared; LongestStatement the slowest single aggregate statement.
	Statements, Windows int64
	LongestStatement    time.Duration
	// Share is the pass's share of the exporter's time on the source over one verify interval:
	// pass / (pass + interval/exportInterval idle cycles).
	Share float64
	Ratio float64
}

// VerifyVsIdle measures one verification pass over every cluster and table against the idle
// export cycle of the same exporter, measured in the same run.
func VerifyVsIdle(ctx context.Context, out io.Writer, opts VerifyOptions) (VerifyResult, error) {
	var res VerifyResult
	dir, err := os.MkdirTemp("", "stlarchive-bench-verify-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cfg := config.Defaults()
	cfg.Archive.Path = filepath.Join(dir, "archive")
	cfg.State.Path = filepath.Join(dir, "state.db")
	cfg.Export.Concurrency = 4
	cfg.Export.Interval = opts.Window
	cfg.Export.Verify.Enabled = false // passes are run by hand below
	cfg.Export.Verify.Horizon = max(opts.History+time.Hour, config.DefaultVerifyHorizon)
	start := time.Now()
	for i := range opts.Clusters {
		c := opts.Cluster
		c.Name = fmt.Sprintf("verify-%02d", i)
		c.Database = "bench_verify_" + strconv.Itoa(i)
		if err := fillCluster(ctx, c, opts, uint64(i+1)); err != nil {
			return res, err
		}
		cfg.Clusters = append(cfg.Clusters, c)
	}
	fmt.Fprintf(out, "%d clusters with %s of activity at %g queries/s written in %.1f s\n", opts.Clusters, opts.History, opts.Rate, time.Since(start).Seconds())
	exp, err := export.Open(cfg, export.Options{MaxWindow: opts.Window})
	if err != nil {
		return res, err
	}
	defer exp.Close()
	start = time.Now()
	if err := cycle(ctx, exp); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "exported in windows of %s in %.1f s\n", opts.Window, time.Since(start).Seconds())

	var idle, pass []time.Duration
	for range opts.Runs {
		time.Sleep(1100 * time.Millisecond) // windows of at least a second
		start := time.Now()
		if err := cycle(ctx, exp); err != nil {
			return res, err
		}
		idle = append(idle, time.Since(start))

		start = time.Now()
		results := exp.Verify(ctx, export.VerifyOptions{Heal: true})
		pass = append(pass, time.Since(start))
		var statements, windows int64
		for _, r := range results {
			if r.Differs() {
				return res, fmt.Errorf("bench verify: cluster %s differs from its source: %+v", r.Cluster, r)
			}
			statements += r.Queries
			for _, t := range r.Tables {
				windows += int64(t.Windows)
				res.LongestStatement = max(res.LongestStatement, t.CountTook)
			}
		}
		res.Statements, res.Windows = statements, windows
	}
	res.Pass, res.IdleCycle = median(pass), median(idle)
	res.Ratio = res.Pass.Seconds() / res.IdleCycle.Seconds()
	cycles := float64(config.DefaultVerifyInterval) / float64(opts.Window)
	res.Share = res.Pass.Seconds() / (res.Pass.Seconds() + cycles*res.IdleCycle.Seconds())
	pairs := opts.Clusters * len(tables.Names())
	fmt.Fprintf(out, "verification pass over %d clusters × %d tables (%d pairs), %d runs\n", opts.Clusters, len(tables.Names()), pairs, opts.Runs)
	fmt.Fprintf(out, "  pass median              %8.3f s   runs %s\n", res.Pass.Seconds(), seconds(pass))
	fmt.Fprintf(out, "  idle export cycle median %8.3f s   runs %s (baseline, same exporter, same run)\n", res.IdleCycle.Seconds(), seconds(idle))
	fmt.Fprintf(out, "  ratio pass/idle cycle    %8.2f\n", res.Ratio)
	fmt.Fprintf(out, "  statements per pass      %8d     (one per pair: %d)\n", res.Statements, pairs)
	fmt.Fprintf(out, "  windows compared         %8d\n", res.Windows)
	fmt.Fprintf(out, "  longest statement        %8.3f s\n", res.LongestStatement.Seconds())
	fmt.Fprintf(out, "  share of the exporter    %7.1f %%   (one pass per %s against %.0f idle cycles of %s)\n",
		100*res.Share, config.DefaultVerifyInterval, cycles, opts.Window)
	if res.Statements != int64(pairs) {
		fmt.Fprintln(out, "MISSED a target: one statement per pair")
	}
	return res, nil
}

func cycle(ctx context.Context, exp *export.Exporter) error {
	var errs []error
	for _, r := range exp.Cycle(ctx) {
		errs = append(errs, r.Failed())
	}
	return errors.Join(errs...)
}

// fillCluster creates the cluster's database afresh with the simulator's tables and history.
func fillCluster(ctx context.Context, c config.Cluster, opts VerifyOptions, seed uint64) error {
	if opts.Reuse {
		var n int64
		err := sim.WithConn(ctx, c, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, "SELECT count(*) FROM stl_query").Scan(&n)
		})
		if err == nil && n > 0 {
			return nil
		}
	}
	admin := c
	admin.Database = "postgres"
	err := sim.WithConn(ctx, admin, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{c.Database}.Sanitize())
		if err == nil {
			_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.Database}.Sanitize())
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
			err = nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster %s: create database: %w", c.Name, err)
	}
	return sim.WithConn(ctx, c, func(conn *pgx.Conn) error {
		if err := sim.Create(ctx, conn); err != nil {
			return err
		}
		o := sim.DefaultOptions()
		o.Rate, o.Seed = opts.Rate, seed
		w, err := sim.NewWorkload(o)
		if err != nil {
			return err
		}
		var now time.Time
		if err := conn.QueryRow(ctx, "SELECT getdate()").Scan(&now); err != nil {
			return err
		}
		// Stop short of the lag, so that no row reaches the source after its window is exported.
		to := now.UTC().Add(-2 * config.DefaultLag)
		_, err = w.Backfill(ctx, conn, to.Add(-opts.History), to)
		return err
	})
}

func seconds(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.3f", d.Seconds())
	}
	return strings.Join(parts, " ")
}
