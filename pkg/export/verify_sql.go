package export

import (
	"fmt"
	"strings"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// verifySQL is the one statement a verification pass sends for a table: the row count and key
// sum of every window in ws, grouped by window, and the oldest time the source still holds.
//
// The rows are those of the export's own window statement (tables.WindowSQL, with its filter of
// the exporter's own queries) over the whole range of ws, bucketed by a binary search over the
// window bounds (see bucket), so the source scans the range once whatever the number of windows.
// ws must be sorted and must not overlap, as the windows of a manifest are. A child table is
// counted through its parent's window statement joined to the child on query: exactly the rows
// of the child's window statement (which joins the same way and filters on the parent's label),
// with the parent's time at hand to bucket them.
//
// Parameters: $1 lo and $2 hi of the range, $3 the query group when the table filters its own
// queries, then lo and hi of each window in order.
func verifySQL(t tables.Table, parent *tables.Table, ws []state.Window) (string, []any, error) {
	if len(ws) == 0 {
		return "", nil, fmt.Errorf("verify %s: no window", t.Name)
	}
	var from, timeExpr, keyExpr string
	switch {
	case t.Parent != "":
		if parent == nil || parent.Name != t.Parent {
			return "", nil, fmt.Errorf("tables: %s needs its parent %s", t.Name, t.Parent)
		}
		inner, err := parent.WindowSQL(nil)
		if err != nil {
			return "", nil, err
		}
		from = fmt.Sprintf("(%s) AS s JOIN %s c ON c.query = s.query", inner, t.Name)
		timeExpr, keyExpr = "s."+quoteIdent(parent.TimeColumn), "c."+KeySumColumn
	default:
		inner, err := t.WindowSQL(nil)
		if err != nil {
			return "", nil, err
		}
		from = fmt.Sprintf("(%s) AS s", inner)
		timeExpr, keyExpr = "s."+quoteIdent(t.TimeColumn), "0"
		if sumsKey(t) {
			keyExpr = "s." + KeySumColumn
		}
	}
	oldest, err := t.OldestSQL(parent)
	if err != nil {
		return "", nil, err
	}
	lo, hi := ws[0].Lo, ws[0].Hi
	for _, w := range ws {
		if w.Lo.Before(lo) {
			lo = w.Lo
		}
		if w.Hi.After(hi) {
			hi = w.Hi
		}
	}
	args := []any{lo, hi}
	if t.FiltersOwnQueries() {
		args = append(args, nil) // the query group, set by the caller
	}
	// Window i's bounds are parameters first+2i and first+2i+1.
	first := len(args) + 1
	for _, w := range ws {
		args = append(args, w.Lo, w.Hi)
	}
	var b strings.Builder
	bucket(&b, timeExpr, first, 0, len(ws))
	unplaced, err := unplacedSQL(t, parent)
	if err != nil {
		return "", nil, err
	}
	sql := fmt.Sprintf("SELECT -1 AS b, 0::bigint AS n, 0::bigint AS k, (%s) AS oldest\n"+
		"UNION ALL\n"+
		"SELECT x.b, count(*), coalesce(sum(x.k), 0), NULL FROM (SELECT %s AS b, %s AS k FROM %s) AS x WHERE x.b IS NOT NULL GROUP BY x.b",
		oldest, b.String(), keyExpr, from)
	return sql + unplaced, args, nil
}

// bucket writes the expression giving the index of the window in [a, b) that holds timeExpr, or
// NULL: a binary search over the sorted windows as nested CASEs, so that each row costs about
// log2(windows) comparisons however many windows a pass compares.
func bucket(sb *strings.Builder, timeExpr string, first, a, b int) {
	if b-a == 1 {
		fmt.Fprintf(sb, "CASE WHEN %s > $%d AND %s <= $%d THEN %d END", timeExpr, first+2*a, timeExpr, first+2*a+1, a)
		return
	}
	mid := (a + b) / 2
	fmt.Fprintf(sb, "CASE WHEN %s <= $%d THEN ", timeExpr, first+2*(mid-1)+1)
	bucket(sb, timeExpr, first, a, mid)
	sb.WriteString(" ELSE ")
	bucket(sb, timeExpr, first, mid, b)
	sb.WriteString(" END")
}

// quoteIdent quotes an identifier for the source (Redshift and PostgreSQL agree).
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sumsKey reports whether the table's manifest entries sum KeySumColumn: STL tables that have it.
func sumsKey(t tables.Table) bool {
	if t.SQL != "" {
		return false
	}
	for _, c := range t.Columns {
		if c.Name == KeySumColumn {
			return true
		}
	}
	return false
}
