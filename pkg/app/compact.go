package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// MaintainOptions choose what Maintain does.
type MaintainOptions struct {
	// Compact compacts the closed days; Retain retires the days past retention. Both delete the
	// garbage whose grace has passed.
	Compact, Retain bool
	// Clusters limits the run to these clusters (default: every cluster of the fleet).
	Clusters []string
	// Owner names this process in the clusters' leases (default host and process id).
	Owner string
	// Hook is passed to the compactor (tests crash the process at a step).
	Hook func(step compact.Step, table, cluster, day string)
	// DayGate overrides which days are closed (default compact.GateOf: VerifiedGate when
	// verification is enabled, else WatermarkGate).
	DayGate compact.DayGate
}

// ClusterMaintenance is what Maintain did on one cluster: its layout before and after, per
// table, and the run's result. Skipped says why nothing was done (another process holds the
// cluster's lease).
type ClusterMaintenance struct {
	Cluster string                `json:"cluster"`
	Skipped string                `json:"skipped,omitempty"`
	Error   string                `json:"error,omitempty"`
	Before  []compact.TableStatus `json:"before"`
	After   []compact.TableStatus `json:"after"`
	Result  compact.Result        `json:"-"`
}

// Maintain compacts and/or applies retention on every cluster of the configuration, each under
// its export lease, as the exporter's scheduler does after a cycle.
func Maintain(ctx context.Context, cfg config.Config, opts MaintainOptions) ([]ClusterMaintenance, error) {
	if opts.Compact && !cfg.CompactionEnabled() {
		return nil, errors.New("compaction is disabled (jsonData.compaction.enabled: false)")
	}
	fleet, err := ResolveFleet(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cfg = fleet.Config
	store, err := export.OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	archive, err := export.OpenArchive(cfg)
	if err != nil {
		return nil, err
	}
	publisher, err := partitionPublisher(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c, err := compact.FromConfig(cfg, store, archive, opts.DayGate, compact.Options{Hook: opts.Hook, Publisher: publisher})
	if err != nil {
		return nil, err
	}
	if !opts.Compact {
		c.DisableCompaction()
	}
	retention := cfg.Retention
	if !opts.Retain {
		retention = nil
	}
	owner := opts.Owner
	if owner == "" {
		host, _ := os.Hostname()
		owner = fmt.Sprintf("%s/%d/maintain", host, os.Getpid())
	}
	var out []ClusterMaintenance
	for _, cl := range cfg.Clusters {
		if len(opts.Clusters) > 0 && !slices.Contains(opts.Clusters, cl.Name) {
			continue
		}
		m := ClusterMaintenance{Cluster: cl.Name}
		ts, err := compact.TablesOf(cfg, cl.Name)
		if err != nil {
			return nil, err
		}
		got, lease, err := store.Acquire(ctx, cl.Name, owner, cfg.Export.Lease)
		switch {
		case err != nil:
			m.Error = fmt.Sprintf("take lease: %v", err)
		case !got:
			m.Skipped = "another process holds the cluster's lease: " + lease.Owner
		default:
			lctx, stop := holdLease(ctx, store, cl.Name, owner, cfg.Export.Lease)
			m.Before = layoutOf(lctx, c, cl.Name, ts)
			m.Result = c.Cluster(lctx, cl.Name, ts, retention)
			if err := m.Result.Failed(); err != nil {
				m.Error = err.Error()
			}
			m.After = layoutOf(lctx, c, cl.Name, ts)
			stop()
			if err := store.Release(context.WithoutCancel(ctx), cl.Name, owner); err != nil && m.Error == "" {
				m.Error = fmt.Sprintf("release lease: %v", err)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// holdLease renews a taken lease every third of its time until stop is called, and cancels the
// returned context when the lease is lost: no switch happens after another process took over.
func holdLease(ctx context.Context, store state.Store, cluster, owner string, ttl time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				got, lease, err := store.Acquire(ctx, cluster, owner, ttl)
				if err == nil && !got {
					err = fmt.Errorf("lease taken by %s", lease.Owner)
				}
				if err != nil && ctx.Err() == nil {
					cancel(fmt.Errorf("cluster %s: lost lease: %w", cluster, err))
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(nil); <-done }
}

// layoutOf is the layout of each table of a cluster; a table whose layout cannot be read shows
// no days.
func layoutOf(ctx context.Context, c *compact.Compactor, cluster string, ts []tables.Table) []compact.TableStatus {
	out := make([]compact.TableStatus, 0, len(ts))
	for _, t := range ts {
		st, err := c.Status(ctx, t.Name, cluster)
		if err != nil {
			st = compact.TableStatus{Cluster: cluster, Table: t.Name, Days: []compact.DayStatus{}}
		}
		out = append(out, st)
	}
	return out
}

// Layout describes, for every cluster and table of the configuration, which objects hold each
// day: the exporter's windows, compacted parts or nothing (retired).
func Layout(ctx context.Context, cfg config.Config) ([]compact.TableStatus, error) {
	fleet, err := ResolveFleet(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cfg = fleet.Config
	archive, err := export.OpenArchive(cfg)
	if err != nil {
		return nil, err
	}
	c, err := compact.FromConfig(cfg, nil, archive, compact.WatermarkGate{}, compact.Options{})
	if err != nil {
		return nil, err
	}
	var out []compact.TableStatus
	for _, cl := range cfg.Clusters {
		ts, err := compact.TablesOf(cfg, cl.Name)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			st, err := c.Status(ctx, t.Name, cl.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
	}
	return out, nil
}
