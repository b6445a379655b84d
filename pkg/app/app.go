// Package app assembles the product's parts from one configuration, for the plugin and the CLI
// alike: the query side over the archive (the embedded engine on the local archive or on a cache of
// the S3 one, or Athena), and the export status that status queries read. The export and query
// packages know nothing of each other; this is where they meet.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
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

// OpenQueries opens the engine the configuration names over its archive.
func OpenQueries(ctx context.Context, cfg config.Config, status StatusFunc) (*Queries, error) {
	catalog, err := presets.New(cfg.Presets)
	if err != nil {
		return nil, err
	}
	engine, err := duckdb.Open(ctx, cfg.Archive.Path, duckdb.Options{Timeout: cfg.Query.Timeout, MaxRows: cfg.Query.MaxRows})
	if err != nil {
		return nil, err
	}
	svc := &query.Service{Engine: engine, Dialect: macro.DuckDB, Presets: catalog,
		MaxRows: cfg.Query.MaxRows, Status: status}
	return &Queries{Service: svc, Tables: engine.Tables, close: []func() error{engine.Close}}, nil
}
