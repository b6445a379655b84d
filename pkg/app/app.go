// Package app assembles the product's parts from one configuration, for the plugin and the CLI
// alike: the query side over the archive (the embedded engine on the local archive or on a cache of
// the S3 one, or Athena), and the export status that status queries read. The export and query
// packages know nothing of each other; this is where they meet.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/athena"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb/worker"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/s3cache"
)

// StatusFunc reads the export state for status queries and the export_health preset.
type StatusFunc func(ctx context.Context) ([]query.StatusRow, error)

// StatusRows turns the export state of each (cluster, table) into the rows status queries show.
func StatusRows(st []export.TableStatus) []query.StatusRow {
	rows := make([]query.StatusRow, len(st))
	for i, s := range st {
		rows[i] = query.StatusRow{Cluster: s.Cluster, Table: s.Table, Watermark: s.Watermark,
			LagSeconds: s.LagSeconds, Rows: s.Rows, LastError: s.LastError, Gaps: len(s.Gaps)}
	}
	return rows
}

// StoreStatus reads status from an open store.
func StoreStatus(store state.Store) StatusFunc {
	return func(ctx context.Context) ([]query.StatusRow, error) {
		if store == nil {
			return nil, errors.New("status: no export state")
		}
		st, err := export.Status(ctx, store, time.Now())
		if err != nil {
			return nil, err
		}
		return StatusRows(st), nil
	}
}

// OpenStoreStatus opens the configured store for each read only: an embedded store is a file
// that a running exporter holds locked between its reads.
func OpenStoreStatus(cfg config.Config) StatusFunc {
	return func(ctx context.Context) ([]query.StatusRow, error) {
		store, err := export.OpenStore(cfg)
		if err != nil {
			return nil, err
		}
		defer store.Close()
		return StoreStatus(store)(ctx)
	}
}

// Queries is the query side of a configuration: the service and what it must close.
type Queries struct {
	Service *query.Service
	// Tables lists the archive's tables and columns, for the SQL editor's completion.
	Tables func(ctx context.Context) ([]duckdb.TableInfo, error)
	close  []func() error
}

// Close releases the engine.
func (q *Queries) Close() error {
	if q == nil {
		return nil
	}
	var errs []error
	for _, c := range q.close {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// OpenQueries opens the engine the configuration names over its archive: Athena, or the
// embedded engine over the local archive, or over a bounded local cache of the S3 archive. It
// makes no AWS call: clients fetch credentials on their first request.
func OpenQueries(ctx context.Context, cfg config.Config, status StatusFunc) (*Queries, error) {
	catalog, err := presets.New(cfg.Presets)
	if err != nil {
		return nil, err
	}
	if cfg.Query.Engine == "athena" {
		return openAthena(ctx, cfg, catalog, status)
	}
	// The embedded engine runs in worker processes: the time and memory limits are then the
	// operating system's, not the query's to honour.
	engine, err := worker.Open(ctx, cfg.Archive.Path, worker.Options{
		Engine: duckdb.Options{Timeout: cfg.Query.Timeout, MaxRows: cfg.Query.MaxRows,
			MemoryLimit: fmt.Sprintf("%dMiB", cfg.Query.MemoryLimitMB)},
		Workers: cfg.Query.Workers})
	if err != nil {
		return nil, err
	}
	svc := &query.Service{Engine: engine, Dialect: macro.DuckDB, Presets: catalog,
		MaxRows: cfg.Query.MaxRows, Status: status}
	q := &Queries{Service: svc, Tables: engine.Tables, close: []func() error{engine.Close}}
	if s3a := cfg.Archive.S3; s3a != nil {
		// The exporter writes to S3 only; the engine reads the partitions a query needs from a
		// local copy at archive.path.
		client, err := s3Client(ctx, cfg)
		if err != nil {
			q.Close()
			return nil, fmt.Errorf("query: %w", err)
		}
		cache, err := s3cache.New(client, s3cache.Options{Bucket: s3a.Bucket, Prefix: s3a.Prefix, Dir: cfg.Archive.Path,
			MaxBytes: int64(cfg.Query.CacheSizeMB) << 20})
		if err != nil {
			q.Close()
			return nil, fmt.Errorf("query: %w", err)
		}
		svc.Prepare = cache.Prepare
	}
	return q, nil
}

func openAthena(ctx context.Context, cfg config.Config, catalog *presets.Catalog, status StatusFunc) (*Queries, error) {
	a := cfg.Query.Athena
	client, err := athenaClient(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	engine, err := athena.New(client, athena.Options{Workgroup: a.Workgroup, OutputLocation: a.OutputLocation,
		Catalog: a.Catalog, Database: a.Database, ResultReuseMaxAge: a.ResultReuse,
		Timeout: cfg.Query.Timeout, MaxRows: cfg.Query.MaxRows})
	if err != nil {
		return nil, err
	}
	svc := &query.Service{Engine: engine, Dialect: macro.Athena, Presets: catalog,
		MaxRows: cfg.Query.MaxRows, Status: status}
	// Athena's tables are the catalog's: listing them would be an AWS call per editor load.
	list := catalogTables(cfg)
	return &Queries{Service: svc, Tables: func(context.Context) ([]duckdb.TableInfo, error) { return list, nil }}, nil
}

// catalogTables describes the archived STL tables as the Glue catalog declares them.
func catalogTables(cfg config.Config) []duckdb.TableInfo {
	var out []duckdb.TableInfo
	for _, t := range archivedTables(cfg) {
		if len(t.Columns) == 0 {
			continue
		}
		info := duckdb.TableInfo{Name: t.Name}
		for _, c := range t.Columns {
			info.Columns = append(info.Columns, duckdb.ColumnInfo{Name: c.Name, Type: catalog.GlueType(c.Type)})
		}
		info.Columns = append(info.Columns, duckdb.ColumnInfo{Name: "cluster", Type: "string"}, duckdb.ColumnInfo{Name: "day", Type: "date"})
		out = append(out, info)
	}
	return out
}
