package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// IdleOptions size the idle benchmark: Server is the PostgreSQL server (one database per cluster).
type IdleOptions struct {
	Server   *url.URL
	Clusters int
	Cycles   int
}

// IdleVsTrivial measures a cycle of the real exporter over clusters whose tables hold no new rows:
// the cost of the schedule itself, which a large fleet pays every interval. It prints the idle
// cycle against one trivial query per (cluster, table), measured in the same run.
func IdleVsTrivial(ctx context.Context, out io.Writer, opts IdleOptions) error {
	u := opts.Server
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
	for i := range opts.Clusters {
		c := config.DefaultCluster()
		c.Name = fmt.Sprintf("idle-%02d", i)
		c.Host, c.Port, c.User, c.Password = u.Hostname(), port, u.User.Username(), config.Secret(password)
		c.Database = "bench_idle_" + strconv.Itoa(i)
		c.SSLMode = u.Query().Get("sslmode")
		if c.SSLMode == "" {
			c.SSLMode = "disable"
		}
		if err := sim.CreateDatabase(ctx, c); err != nil {
			return err
		}
		if err := sim.WithConn(ctx, c, func(conn *pgx.Conn) error { return sim.Create(ctx, conn) }); err != nil {
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
	pairs := opts.Clusters * len(tables.Names())
	var idle, base []time.Duration
	var asked int64
	for range opts.Cycles {
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
	mi, mb := medianHigh(idle), medianHigh(base)
	fmt.Fprintf(out, "idle cycle over %d clusters × %d tables (%d pairs), %d cycles\n", opts.Clusters, len(tables.Names()), pairs, opts.Cycles)
	fmt.Fprintf(out, "  idle cycle median     %8.3f s   (target ≤ 2 s)   runs %s\n", mi.Seconds(), seconds(idle))
	fmt.Fprintf(out, "  baseline median       %8.3f s   (one SELECT 1 per pair on fresh connections, sequential per cluster)\n", mb.Seconds())
	fmt.Fprintf(out, "  ratio idle/baseline   %8.2f\n", mi.Seconds()/mb.Seconds())
	fmt.Fprintf(out, "  queries per cycle     %8d     (target ≤ %d, one per pair)\n", asked, pairs)
	if mi > 2*time.Second || asked > int64(pairs) {
		fmt.Fprintln(out, "MISSED a target")
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
			errs <- sim.WithConn(ctx, c, func(conn *pgx.Conn) error {
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

// medianHigh is the middle duration, the higher of the two middle ones for an even count.
func medianHigh(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
