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

	duckdb "github.com/duckdb/duckdb-go/v2"

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

// catalog keeps the views in step with the archive folders. Its lock serialises the DDL, which
// runs on a connection of its own: were it to take one from the pool, it could wait for queries
// that wait for the lock.
type catalog struct {
	root string
	ddl  *sql.Conn

	mu     sync.Mutex
	kinds  map[string]viewKind
	broken map[string]string // table → why its view could not be built
}

// viewSet is what a query may read: the usable views, and the tables whose view is broken.
type viewSet struct {
	usable map[string]bool
	broken map[string]string
}

// fileGlob matches the Parquet objects of one table. Object names start with the window's
// timestamp (tables.ObjectKey), so "[0-9]*" leaves out files being written (".name" and
// "*.parquet.tmp*"), which must never be read half-written.
func (c *catalog) fileGlob(table string) string {
	return filepath.Join(c.root, table, "cluster=*", "day=*", "[0-9]*.parquet")
}

func (c *catalog) snapshot() viewSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	vs := viewSet{usable: map[string]bool{}, broken: map[string]string{}}
	for name, k := range c.kinds {
		if k != noView && c.broken[name] == "" {
			vs.usable[name] = true
		}
	}
	for name, why := range c.broken {
		vs.broken[name] = why
	}
	return vs
}

// refresh creates, replaces or drops views whose kind changed since the last call. It reads the
// root folder once and globs only tables that had no files; a table that had files keeps its
// view (its glob sees new files at every query) unless full is set. A view that cannot be built
// (a corrupt object, say) marks its table broken, and is tried again at the next refresh; the
// other tables stay usable.
func (c *catalog) refresh(ctx context.Context, full bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kinds == nil {
		c.kinds = map[string]viewKind{}
		c.broken = map[string]string{}
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
		have, broken := c.kinds[name], c.broken[name] != ""
		if have == filesView && present[name] && !full && !broken {
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
		if want == have && !broken {
			continue
		}
		if err := c.apply(ctx, name, want); err != nil {
			if ctx.Err() != nil {
				return err
			}
			c.broken[name] = err.Error()
			continue
		}
		c.kinds[name] = want
		delete(c.broken, name)
	}
	return nil
}

func (c *catalog) apply(ctx context.Context, name string, kind viewKind) error {
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
	if _, err := c.ddl.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("view %s: %s", name, firstLine(err))
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

// firstLine is DuckDB's message without the statement excerpt it appends, which here would only
// repeat the view's DDL.
func firstLine(err error) string {
	msg := err.Error()
	var de *duckdb.Error
	if errors.As(err, &de) {
		msg = de.Msg
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}
