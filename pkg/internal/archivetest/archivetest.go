// Package archivetest compares an archive with its source: it reads every Parquet object of a
// table and cluster back, and the same table from PostgreSQL, into one canonical text form per
// row, and compares them as multisets (count plus an order-independent checksum), so that a
// duplicate or a missing row cannot hide.
package archivetest

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Null is the canonical form of SQL NULL.
const Null = "\u2205"

const sep = "\x1f"

// Rows is a multiset of canonical rows.
type Rows struct {
	Count int64
	Sum   uint64
	// Sample keeps rows (up to a million) to show what differs.
	Sample map[string]int
}

func (r *Rows) add(row string) {
	h := fnv.New64a()
	h.Write([]byte(row))
	r.Count++
	r.Sum += h.Sum64() * 0x9E3779B97F4A7C15
	if r.Sample == nil {
		r.Sample = map[string]int{}
	}
	if len(r.Sample) < 1<<20 {
		r.Sample[row]++
	}
}

// Equal reports whether two multisets are the same.
func (r Rows) Equal(o Rows) bool { return r.Count == o.Count && r.Sum == o.Sum }

// Diff describes how two multisets differ, with example rows taken from the samples.
func Diff(archive, source Rows) string {
	var b strings.Builder
	fmt.Fprintf(&b, "archive has %d rows, source %d", archive.Count, source.Count)
	n := 0
	for row, c := range archive.Sample {
		if source.Sample[row] != c && n < 3 {
			fmt.Fprintf(&b, "\n  archive ×%d, source ×%d: %.200q", c, source.Sample[row], row)
			n++
		}
	}
	for row, c := range source.Sample {
		if archive.Sample[row] != c && n < 6 {
			fmt.Fprintf(&b, "\n  source ×%d, archive ×%d: %.200q", c, archive.Sample[row], row)
			n++
		}
	}
	return b.String()
}

// Objects lists the Parquet objects that hold a table on a cluster, sorted: those the layout
// record chooses (docs/compaction.md) — the window objects of the days it does not name, the
// compacted parts of those it does. Objects it no longer chooses (waiting for deletion) are not
// rows of the archive.
func Objects(root, table, cluster string) ([]string, error) {
	dir := filepath.Join(root, table, "cluster="+cluster)
	var layout tables.Layout
	if b, err := os.ReadFile(filepath.Join(dir, tables.LayoutName)); err == nil {
		if layout, err = tables.ParseLayout(b); err != nil {
			return nil, err
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		day, gen, ok := tables.ObjectOf(filepath.ToSlash(rel))
		if !ok {
			// Not an object of the layout (a custom name in an old test archive): kept.
			out = append(out, p)
			return nil
		}
		d2, named := layout.Days[day]
		switch {
		case gen == 0 && d2.ReadsWindow(filepath.Base(p)):
			out = append(out, p)
		case named && !d2.Retired && gen == d2.Generation && filepath.Base(p) < fmt.Sprintf("part-%05d.parquet", d2.Parts):
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// ReadArchive reads every row of a table and cluster from the archive, with the columns named
// in cols (in that order).
func ReadArchive(root, table, cluster string, cols []string) (Rows, error) {
	var rows Rows
	err := Each(root, table, cluster, cols, func(values []string) { rows.add(strings.Join(values, sep)) })
	return rows, err
}

// Each calls fn with the canonical values of cols for every archived row of a table and
// cluster. The slice is reused between calls.
func Each(root, table, cluster string, cols []string, fn func(values []string)) error {
	files, err := Objects(root, table, cluster)
	if err != nil {
		return err
	}
	for _, path := range files {
		if err := readFile(path, cols, fn); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func readFile(path string, cols []string, fn func([]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return err
	}
	leaves := pf.Schema().Fields()
	index := make([]int, len(cols))
	for i, c := range cols {
		index[i] = -1
		for j, l := range leaves {
			if l.Name() == c {
				index[i] = j
			}
		}
		if index[i] < 0 {
			return fmt.Errorf("no column %s", c)
		}
	}
	buf := make([]parquet.Row, 256)
	parts := make([]string, len(cols))
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			n, err := rr.ReadRows(buf)
			for _, row := range buf[:n] {
				for i, j := range index {
					parts[i] = canonical(leaves[j], row[j])
				}
				fn(parts)
			}
			if err != nil {
				break
			}
		}
		rr.Close()
	}
	return nil
}

func canonical(f parquet.Field, v parquet.Value) string {
	if v.IsNull() {
		return Null
	}
	if lt := f.Type().LogicalType(); lt != nil {
		switch l := lt.Value.(type) {
		case *format.TimestampType:
			return time.UnixMicro(v.Int64()).UTC().Format("2006-01-02 15:04:05.000000")
		case *format.DecimalType:
			return decimal(v.Int64(), int(l.Scale))
		}
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.ByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}

// SourceExpr is the PostgreSQL expression giving the canonical form of a catalog column:
// char(n) trimmed, except a kept-padding column, which is padded back to n characters
// (PostgreSQL drops the blanks when it casts char(n) to text); timestamps with microseconds.
func SourceExpr(t tables.Table, c tables.Column, alias string) string {
	col := alias + "." + c.Name
	var e string
	switch {
	case c.Type == "timestamp":
		e = fmt.Sprintf("to_char(%s, 'YYYY-MM-DD HH24:MI:SS.US')", col)
	case strings.HasPrefix(c.Type, "char") && t.KeepsPadding(c.Name):
		n := strings.TrimSuffix(c.Type[strings.Index(c.Type, "(")+1:], ")")
		e = fmt.Sprintf("rpad(%s::text, %s)", col, n)
	default:
		e = col + "::text"
	}
	return fmt.Sprintf("coalesce(%s, '%s')", e, Null)
}

// ColumnNames lists a table's catalog column names.
func ColumnNames(t tables.Table) []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// ReadSource reads the rows of an STL table on the source that an export up to watermark must
// have archived: time ≤ watermark, leaving out the rows of the exporter's own query group.
func ReadSource(ctx context.Context, conn *pgx.Conn, t tables.Table, watermark time.Time, queryGroup string) (Rows, error) {
	var rows Rows
	exprs := make([]string, len(t.Columns))
	alias := "t"
	for i, c := range t.Columns {
		exprs[i] = SourceExpr(t, c, alias)
	}
	var sql string
	switch {
	case t.Parent != "":
		sql = fmt.Sprintf("SELECT concat_ws(E'\\x1f', %s) FROM %s t JOIN stl_query p ON p.query = t.query WHERE p.endtime <= $1 AND %s",
			strings.Join(exprs, ", "), t.Name, tables.NotOwn("p.label", "$2"))
	case hasColumn(t, "label"):
		sql = fmt.Sprintf("SELECT concat_ws(E'\\x1f', %s) FROM %s t WHERE t.%s <= $1 AND %s",
			strings.Join(exprs, ", "), t.Name, t.TimeColumn, tables.NotOwn("t.label", "$2"))
	default:
		sql = fmt.Sprintf("SELECT concat_ws(E'\\x1f', %s) FROM %s t WHERE t.%s <= $1 AND NOT EXISTS (SELECT 1 FROM stl_query q WHERE q.query = t.query AND %s)",
			strings.Join(exprs, ", "), t.Name, t.TimeColumn, tables.Own("q.label", "$2"))
	}
	r, err := conn.Query(ctx, sql, watermark, queryGroup)
	if err != nil {
		return rows, err
	}
	defer r.Close()
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			return rows, err
		}
		rows.add(s)
	}
	return rows, r.Err()
}

func hasColumn(t tables.Table, name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// decimal formats an unscaled integer with scale digits after the point, as PostgreSQL
// prints numeric(p, s).
func decimal(unscaled int64, scale int) string {
	sign := ""
	if unscaled < 0 {
		sign, unscaled = "-", -unscaled
	}
	digits := strconv.FormatInt(unscaled, 10)
	if scale == 0 {
		return sign + digits
	}
	for len(digits) <= scale {
		digits = "0" + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}
