package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
)

func runSimulate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	def := sim.DefaultOptions()
	rate := fs.Float64("rate", 2, "mean queries per second per cluster")
	backfill := fs.Duration("backfill", 0, "history to write before the live workload (e.g. 2h, 168h)")
	retention := fs.Duration("retention", 0, "delete rows older than this, as STL retention does (0: keep all)")
	lateness := fs.Duration("max-lateness", 5*time.Second, "how late a late row may arrive after its time; keep it below the export lag")
	seed := fs.Uint64("seed", def.Seed, "seed of the workload (each cluster adds its index)")
	once := fs.Bool("once", false, "create the tables and write the backfill, then exit")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	log := logger()
	var wg sync.WaitGroup
	errs := make([]error, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		opts := def
		opts.Rate, opts.Retention, opts.MaxLateness, opts.Seed = *rate, *retention, *lateness, *seed+uint64(i)
		opts.QueryGroup = cfg.Export.QueryGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = simulateCluster(ctx, c, opts, *backfill, *once)
			if errs[i] != nil && ctx.Err() == nil {
				log.Error("simulation failed", "cluster", c.Name, "error", errs[i])
			}
		}()
	}
	log.Info("simulating", "clusters", len(cfg.Clusters), "rate", *rate, "backfill", *backfill)
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if err := errors.Join(errs...); err != nil {
		return errFailed
	}
	return nil
}

// simulateCluster makes the cluster's database (when missing) STL-shaped and writes its
// workload until ctx ends.
func simulateCluster(ctx context.Context, c config.Cluster, opts sim.Options, backfill time.Duration, once bool) error {
	if err := sim.CreateDatabase(ctx, c); err != nil {
		return err
	}
	return sim.WithConn(ctx, c, func(conn *pgx.Conn) error { return simulateOn(ctx, conn, c, opts, backfill, once) })
}

func simulateOn(ctx context.Context, conn *pgx.Conn, c config.Cluster, opts sim.Options, backfill time.Duration, once bool) error {
	if err := sim.Create(ctx, conn); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	w, err := sim.NewWorkload(opts)
	if err != nil {
		return err
	}
	if backfill > 0 {
		var now time.Time
		if err := conn.QueryRow(ctx, "SELECT getdate()").Scan(&now); err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		if _, err := w.Backfill(ctx, conn, now.Add(-backfill), now); err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
	}
	if once {
		return nil
	}
	return sim.Run(ctx, conn, w, time.Second)
}
