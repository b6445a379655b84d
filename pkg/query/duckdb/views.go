package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

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
	// layouts is, per table, the layout records and patterns its view was built from
	// (docs/compaction.md); matching holds the glob patterns known to match a file.
	layouts  map[string]string
	matching map[string]bool
	// schemas remembers the schema of each compacted part, read once from its footer.
	schemas partSchemas
}

// viewSet is what a query may read: the usable views, and the tables whose view is broken.
type viewSet struct {
	usable map[string]bool
	broken map[string]string
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
		c.layouts = map[string]string{}
	}
	if c.matching == nil || full {
		c.matching = map[string]bool{}
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
		var layouts tableLayouts
		if present[name] {
			// Compaction and retention switch a day's objects by replacing a layout record:
			// a view follows the records it was built from, read again before every query.
			var err error
			if layouts, err = c.readLayouts(name); err != nil {
				c.broken[name] = err.Error()
				continue
			}
		}
		if have == filesView && present[name] && !full && !broken && layouts.signature == c.layouts[name] {
			continue
		}
		want := noView
		if present[name] && len(layouts.patterns)+len(layouts.parts) > 0 {
			want = filesView
		}
		if _, stl := tables.Lookup(name); stl && want == noView {
			want = emptyView
		}
		if want == have && !broken && (want != filesView || layouts.signature == c.layouts[name]) {
			continue
		}
		if err := c.apply(ctx, name, want, layouts); err != nil {
			if ctx.Err() != nil {
				return err
			}
			c.broken[name] = err.Error()
			continue
		}
		c.kinds[name] = want
		c.layouts[name] = layouts.signature
		delete(c.broken, name)
	}
	return nil
}

// tableLayouts is what a view reads, as the layout records of a table's clusters decide it
// (docs/compaction.md): the window objects of the days the records do not name, by glob
// patterns, and the compacted parts of the days they do, by path. A day the records name is
// never in a pattern: its windows stay for the grace period after the switch, and a view built
// after it must not even list them, since they may be deleted between the listing and the read.
type tableLayouts struct {
	signature string
	patterns  []string
	parts     []string
	// schemas maps a part to the schema ID its record gives, when the record has one.
	schemas map[string]string
}

// readLayouts reads the layout records of a table and lists what its view reads. A cluster
// without a record has one pattern for all its days; a cluster with one has a pattern per day
// the record does not name. A pattern is used only once it matches a file: DuckDB refuses a
// pattern that matches nothing, and the first object of a new day is written after its folder
// is created.
func (c *catalog) readLayouts(table string) (tableLayouts, error) {
	var out tableLayouts
	dirs, _ := filepath.Glob(filepath.Join(c.root, table, "cluster=*"))
	sort.Strings(dirs)
	var sig strings.Builder
	for _, dir := range dirs {
		cluster := strings.TrimPrefix(filepath.Base(dir), "cluster=")
		var l tables.Layout
		b, err := os.ReadFile(filepath.Join(dir, tables.LayoutName))
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		case err != nil:
			return out, fmt.Errorf("view %s: %w", table, err)
		default:
			if l, err = tables.ParseLayout(b); err != nil {
				return out, fmt.Errorf("view %s: cluster %s: %w", table, cluster, err)
			}
			sig.WriteString(cluster)
			sig.WriteByte(0)
			sig.Write(b)
			sig.WriteByte(0)
		}
		if len(l.Days) == 0 {
			out.patterns = c.appendPattern(out.patterns, filepath.Join(dir, "day=*", "[0-9]*.parquet"))
		} else {
			entries, err := os.ReadDir(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return out, fmt.Errorf("view %s: %w", table, err)
			}
			for _, e := range entries {
				day, ok := strings.CutPrefix(e.Name(), "day=")
				if !ok || !e.IsDir() {
					continue
				}
				if _, named := l.Days[day]; !named {
					out.patterns = c.appendPattern(out.patterns, filepath.Join(dir, e.Name(), "[0-9]*.parquet"))
				}
			}
		}
		for _, day := range slices.Sorted(maps.Keys(l.Days)) {
			d := l.Days[day]
			for _, k := range d.Keys(table, cluster, day) {
				p := filepath.Join(c.root, filepath.FromSlash(k))
				out.parts = append(out.parts, p)
				if d.Schema != "" {
					if out.schemas == nil {
						out.schemas = map[string]string{}
					}
					out.schemas[p] = d.Schema
				}
			}
			if !d.Partial() {
				continue
			}
			// A partial day: its parts hold the windows up to Through, its windows from
			// Through on the rest. Those are listed here, by name, at every refresh (the
			// signature changes when one appears); the windows the parts hold are never
			// named, so their folder is in no pattern.
			folder := filepath.Join(dir, "day="+day)
			entries, err := os.ReadDir(folder)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return out, fmt.Errorf("view %s: %w", table, err)
			}
			for _, e := range entries {
				if !e.IsDir() && d.ReadsWindow(e.Name()) {
					f := filepath.Join(folder, e.Name())
					out.parts = append(out.parts, f)
					sig.WriteString(f)
					sig.WriteByte(0)
				}
			}
		}
	}
	for _, p := range out.patterns {
		sig.WriteString(p)
		sig.WriteByte(0)
	}
	out.signature = sig.String()
	return out, nil
}

// appendPattern adds a glob pattern once it matches a file. Patterns end in "[0-9]*.parquet":
// object names start with the window's timestamp (tables.ObjectKey), which leaves out files
// being written (".name" and "*.parquet.tmp*"), never to be read half-written. Window objects leave a plain day
// only through a record that names the day, so a pattern found to match is not checked again
// until a full refresh.
func (c *catalog) appendPattern(patterns []string, p string) []string {
	if !c.matching[p] {
		if files, _ := filepath.Glob(p); len(files) == 0 {
			return patterns
		}
		c.matching[p] = true
	}
	return append(patterns, p)
}

// viewSQL is the query of a table's view: the window objects of the days the records do not
// name, and the compacted parts of those they do.
//
// Objects whose schemas may differ are read with union_by_name, which makes DuckDB open every one
// of them when it binds the view, before any filter prunes a day: that is the window patterns.
// The parts are grouped by schema (as their records give it, else as their footers declare it),
// and each group is read without it:
// DuckDB then binds on the group's first part and opens only the parts a query's filters leave.
// Within a group no column can be missing, extra or of another type, so nothing is hidden or cast;
// the groups are put together by name, as union_by_name would.
func (c *catalog) viewSQL(name string, l tableLayouts) string {
	const hive = "hive_partitioning = true, hive_types = {'cluster': 'VARCHAR', 'day': 'DATE'}"
	read := func(list []string, union bool) string {
		quoted := make([]string, len(list))
		for i, p := range list {
			quoted[i] = quoteString(p)
		}
		opts := hive
		if union {
			opts += ", union_by_name = true"
		}
		return fmt.Sprintf("SELECT * FROM read_parquet([%s], %s)", strings.Join(quoted, ", "), opts)
	}
	var selects []string
	if len(l.patterns) > 0 {
		selects = append(selects, read(l.patterns, true))
	}
	groups, unknown := c.schemas.group(name, l.parts, l.schemas)
	for _, g := range groups {
		selects = append(selects, read(g, false))
	}
	if len(unknown) > 0 {
		// Footers that could not be read: DuckDB reads these itself, and says what is wrong.
		selects = append(selects, read(unknown, true))
	}
	if len(selects) == 0 {
		t, _ := tables.Lookup(name)
		return emptySelect(t)
	}
	return strings.Join(selects, " UNION ALL BY NAME ")
}

func (c *catalog) apply(ctx context.Context, name string, kind viewKind, layouts tableLayouts) error {
	var ddl string
	switch kind {
	case noView:
		ddl = "DROP VIEW IF EXISTS " + quoteIdent(name)
	case emptyView:
		t, _ := tables.Lookup(name)
		ddl = "CREATE OR REPLACE VIEW " + quoteIdent(name) + " AS " + emptySelect(t)
	case filesView:
		ddl = fmt.Sprintf("CREATE OR REPLACE VIEW %s AS %s", quoteIdent(name), c.viewSQL(name, layouts))
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
