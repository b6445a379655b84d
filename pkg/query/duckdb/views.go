package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// A view's source is one of three kinds. A catalog table without files still gets a typed, empty
// view so that dashboards do not fail on a fresh archive; a custom table gets one only once it
// has files, since its columns come from them.
type viewKind int

const (
	noView viewKind = iota
	emptyView
	filesView
)

// catalog keeps the views in step with the archive folders. Its lock also serialises the DDL.
type catalog struct {
	root string

	mu    sync.Mutex
	kinds map[string]viewKind
}

// fileGlob matches the Parquet objects of one table. Object names start with the window's
// timestamp (tables.ObjectKey), so "[0-9]*" leaves out files being written (".name" and
// "*.parquet.tmp*"), which must never be read half-written.
func (c *catalog) fileGlob(table string) string {
	return filepath.Join(c.root, table, "cluster=*", "day=*", "[0-9]*.parquet")
}

// names returns the views that exist now.
func (c *catalog) names() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.kinds))
	for name, k := range c.kinds {
		if k != noView {
			out[name] = true
		}
	}
	return out
}

// refresh creates, replaces or drops views whose kind changed since the last call. It reads the
// root folder once and globs only tables that had no files; a table that had files keeps its
// view (its glob sees new files at every query) unless full is set.
func (c *catalog) refresh(ctx context.Context, db *sql.DB, full bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kinds == nil {
		c.kinds = map[string]viewKind{}
	}
	present := map[string]bool{}
	entries, err := os.ReadDir(c.root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list archive root: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && tables.ValidName(e.Name()) {
			present[e.Name()] = true
		}
	}
	candidates := map[string]bool{}
	for name := range present {
		candidates[name] = true
	}
	for name := range c.kinds {
		candidates[name] = true
	}
	for _, t := range tables.STL() {
		candidates[t.Name] = true
	}
	for name := range candidates {
		have := c.kinds[name]
		if have == filesView && present[name] && !full {
			continue
		}
		want := noView
		if present[name] {
			if files, _ := filepath.Glob(c.fileGlob(name)); len(files) > 0 {
				want = filesView
			}
		}
		if _, stl := tables.Lookup(name); stl && want == noView {
			want = emptyView
		}
		if want == have {
			continue
		}
		if err := c.apply(ctx, db, name, want); err != nil {
			return err
		}
		c.kinds[name] = want
	}
	return nil
}

func (c *catalog) apply(ctx context.Context, db *sql.DB, name string, kind viewKind) error {
	var ddl string
	switch kind {
	case noView:
		ddl = "DROP VIEW IF EXISTS " + quoteIdent(name)
	case emptyView:
		t, _ := tables.Lookup(name)
		ddl = "CREATE OR REPLACE VIEW " + quoteIdent(name) + " AS " + emptySelect(t)
	case filesView:
		ddl = fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet(%s, hive_partitioning = true, union_by_name = true, hive_types = {'cluster': 'VARCHAR', 'day': 'DATE'})",
			quoteIdent(name), quoteString(c.fileGlob(name)))
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("view %s: %w", name, err)
	}
	return nil
}

// emptySelect is a query with the catalog columns of t and the partition columns, and no rows.
func emptySelect(t tables.Table) string {
	cols := make([]string, 0, len(t.Columns)+2)
	for _, c := range t.Columns {
		cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", duckType(c.Type), quoteIdent(c.Name)))
	}
	cols = append(cols, "CAST(NULL AS VARCHAR) AS cluster", "CAST(NULL AS DATE) AS day")
	return "SELECT " + strings.Join(cols, ", ") + " WHERE false"
}

var numericRe = regexp.MustCompile(`^(?:numeric|decimal)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$`)

// duckType maps a Redshift column type of the catalog to the type the exporter writes to Parquet
// and DuckDB reads back.
func duckType(redshift string) string {
	t := strings.ToLower(strings.TrimSpace(redshift))
	switch t {
	case "smallint", "int2":
		return "SMALLINT"
	case "integer", "int", "int4":
		return "INTEGER"
	case "bigint", "int8":
		return "BIGINT"
	case "real", "float4":
		return "FLOAT"
	case "double precision", "float8", "float":
		return "DOUBLE"
	case "boolean", "bool":
		return "BOOLEAN"
	case "date":
		return "DATE"
	case "timestamp", "timestamp without time zone":
		return "TIMESTAMP"
	case "timestamptz", "timestamp with time zone":
		return "TIMESTAMPTZ"
	}
	if m := numericRe.FindStringSubmatch(t); m != nil {
		return fmt.Sprintf("DECIMAL(%s,%s)", m[1], m[2])
	}
	// character(n), char(n), varchar(n) and anything unknown: text.
	return "VARCHAR"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
