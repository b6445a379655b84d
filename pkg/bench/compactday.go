package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// CompactOptions are the flags of "stlarchive bench compact".
type CompactOptions struct {
	Server *url.URL // PostgreSQL server where the bench may create a database
	Dir    string   // folder of the archive (emptied first)
	Factor float64  // multiple of the simulator's default rate
}

// CompactOneDay measures the compaction of one closed day of stl_scan as a live exporter leaves
// it (one object per export interval), at a multiple of the simulator's default rate:
//
//	stlarchive bench compact --pg postgres://postgres:postgres@127.0.0.1:5432 [--factor 10]
//
// It fills database stlbench_compact_<factor>x with yesterday's activity (reused when there),
// exports stl_scan in interval-long windows, and compacts yesterday in a child process whose
// peak RSS the kernel reports, next to the size of the day it merged.
func CompactOneDay(ctx context.Context, out io.Writer, opts CompactOptions) error {
	rate := sim.DefaultOptions().Rate * opts.Factor
	c := benchCluster(opts.Server, 0, 1)
	c.Name = "bench-compact"
	c.Database = fmt.Sprintf("stlbench_compact_%gx", opts.Factor)

	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	start := time.Now()
	rows, err := backfillDay(ctx, c, rate, day)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "source: %s of activity at %.1f queries/s (%g× the default), %d stl_scan rows, ready in %s\n",
		day.Format(tables.DayFormat), rate, opts.Factor, rows, time.Since(start).Round(time.Second))

	if err := os.RemoveAll(opts.Dir); err != nil {
		return err
	}
	cfg := config.Defaults()
	cfg.Archive.Path = filepath.Join(opts.Dir, "archive")
	cfg.State.Path = filepath.Join(opts.Dir, "archive", ".state", "export.db")
	cfg.Export.Tables = []string{"stl_scan"}
	cfg.Export.Timeout = time.Hour
	cfg.Clusters = []config.Cluster{c}
	start = time.Now()
	exp, err := export.Open(cfg, export.Options{MaxWindow: cfg.Export.Interval, MaintainEvery: -1})
	if err != nil {
		return err
	}
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			exp.Close()
			return err
		}
	}
	exp.Close()
	fmt.Fprintf(out, "archive: stl_scan exported in %s-long windows in %s\n", cfg.Export.Interval, time.Since(start).Round(time.Second))

	rep, err := CompactDay(ctx, cfg.Archive.Path, "stl_scan", c.Name, day.Format(tables.DayFormat))
	if err != nil {
		return err
	}
	largest, total := int64(0), int64(0)
	windows, _ := filepath.Glob(filepath.Join(cfg.Archive.Path, tables.PartitionDir("stl_scan", c.Name, day), "*.parquet"))
	for _, w := range windows {
		if fi, err := os.Stat(w); err == nil {
			largest, total = max(largest, fi.Size()), total+fi.Size()
		}
	}
	fmt.Fprintf(out, "\ncompaction of stl_scan on %s, one child process\n", day.Format(tables.DayFormat))
	fmt.Fprintf(out, "  %d window objects (%.1f MiB, largest %.1f MiB) → %d part(s) of %.1f MiB, %d rows, in %.1f s\n",
		rep.Windows, float64(total)/(1<<20), float64(largest)/(1<<20), rep.Parts, float64(rep.Bytes)/(1<<20), rep.Rows, rep.Seconds)
	fmt.Fprintf(out, "  peak RSS %.1f MiB: %.2f× the day's Parquet bytes\n", float64(rep.PeakRSS)/(1<<20), float64(rep.PeakRSS)/float64(max(total, 1)))
	return nil
}

// backfillDay makes the database hold the activity of one day (and the first minutes of the next,
// so the day is closed), unless it already does.
func backfillDay(ctx context.Context, c config.Cluster, rate float64, day time.Time) (int64, error) {
	admin, err := connect(ctx, c, "postgres")
	if err != nil {
		return 0, err
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.Database}.Sanitize())
	admin.Close(ctx)
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
		return 0, fmt.Errorf("bench compact: create database: %w", err)
	}
	conn, err := connect(ctx, c, c.Database)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if err := sim.Create(ctx, conn); err != nil {
		return 0, err
	}
	var rows int64
	var oldest *time.Time
	if err := conn.QueryRow(ctx, "SELECT count(*), min(endtime) FROM stl_scan").Scan(&rows, &oldest); err != nil {
		return 0, err
	}
	if rows > 0 && oldest != nil && !oldest.After(day.Add(time.Hour)) {
		return rows, nil
	}
	if rows > 0 {
		return 0, fmt.Errorf("bench compact: database %s holds another day; drop it", c.Database)
	}
	opts := sim.DefaultOptions()
	opts.Rate, opts.Seed = rate, 1
	w, err := sim.NewWorkload(opts)
	if err != nil {
		return 0, err
	}
	s, err := w.Backfill(ctx, conn, day, day.Add(24*time.Hour+10*time.Minute))
	if err != nil {
		return 0, err
	}
	return s.Rows["stl_scan"], nil
}
