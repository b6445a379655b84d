package duckdb

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// compact stores the rows of query as the only part of day's generation 1 of table on cluster,
// and names it in the cluster's layout record, as compaction leaves a day.
func (a *archive) compact(table, cluster string, day time.Time, query string) string {
	a.t.Helper()
	d := day.Format(tables.DayFormat)
	path := filepath.Join(a.root, filepath.FromSlash(tables.PartKey(table, cluster, d, 1, 0)))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.db.Exec(fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", query, quoteString(path))); err != nil {
		a.t.Fatalf("write %s: %v", path, err)
	}
	rec := filepath.Join(a.root, filepath.FromSlash(tables.LayoutKey(table, cluster)))
	var l tables.Layout
	if b, err := os.ReadFile(rec); err == nil {
		if l, err = tables.ParseLayout(b); err != nil {
			a.t.Fatal(err)
		}
	}
	if l.Days == nil {
		l.Days = map[string]tables.DayLayout{}
	}
	l.Days[d] = tables.DayLayout{Generation: 1, Parts: 1, Rows: 1, Windows: 2, At: day}
	b, err := json.Marshal(l)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(rec+".tmp", b, 0o644); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Rename(rec+".tmp", rec); err != nil {
		a.t.Fatal(err)
	}
	return path
}

// A query filtered to one compacted day opens that day's part alone: parts of one schema are
// read without union_by_name, which would open every part when the view is bound. The proof is
// a part that cannot be read: a query that does not need its day does not fail on it.
func TestCompactedPartsOfOneSchemaAreOpenedOnlyWhenAQueryNeedsThem(t *testing.T) {
	a := newArchive(t)
	var parts []string
	for i, d := range []time.Time{day1, day2, day3} {
		parts = append(parts, a.compact("stl_query", "c1", d, queryRows(10*i, 3, d)))
	}
	e := open(t, a.root, Options{})
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 9 {
		t.Fatalf("count %d, want 9", n)
	}
	// Day 2's part becomes unreadable; the record still names it, so the view is not rebuilt.
	if err := os.WriteFile(parts[1], []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(parts[1], later, later); err != nil {
		t.Fatal(err)
	}
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query WHERE day = DATE '2026-11-03'"); n != 3 {
		t.Fatalf("day 3: count %d, want 3", n)
	}
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query WHERE day <> DATE '2026-11-02'"); n != 6 {
		t.Fatalf("days 1 and 3: count %d, want 6", n)
	}
	// The part is really unreadable: a query over its day fails rather than miss its rows.
	if _, err := e.Query(t.Context(), "SELECT count(*) FROM stl_query"); err == nil {
		t.Fatal("a query over the unreadable part succeeded")
	}
}

// Parts whose schemas differ (a custom query changed between days) are read in groups of one
// schema and put together by name: a column missing from some parts is NULL there, and a column
// whose type changed takes the wider type in every row, never cast to the first part's.
func TestCompactedPartsOfDifferentSchemasAreUnitedByName(t *testing.T) {
	a := newArchive(t)
	a.compact("my_query", "c1", day1, "SELECT 1::INTEGER AS id, 1::INTEGER AS x, 'a' AS only_1")
	a.compact("my_query", "c1", day2, "SELECT 2::BIGINT AS id, 2.5::DOUBLE AS x, 'b' AS only_2")
	a.compact("my_query", "c1", day3, "SELECT 3::INTEGER AS id, 3::INTEGER AS x, 'c' AS only_1")
	e := open(t, a.root, Options{})

	res := mustQuery(t, e, "SELECT id, x, only_1, only_2, day FROM my_query ORDER BY id")
	if res.Len() != 3 {
		t.Fatalf("%d rows, want 3", res.Len())
	}
	got := []string{}
	for i := range res.Len() {
		var row []string
		for _, f := range res.Fields()[:4] {
			row = append(row, valueAt(f.Values, i))
		}
		got = append(got, strings.Join(row, " "))
	}
	want := []string{"1 1 a <nil>", "2 2.5 <nil> b", "3 3 c <nil>"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("rows\n%v\nwant\n%v", got, want)
	}
	if xs, ok := res.Fields()[1].Values.([]*float64); !ok || len(xs) != 3 {
		t.Fatalf("x is %T, want the wider type (float64) in every row", res.Fields()[1].Values)
	}
}

// valueAt prints the value at row i of a column's typed pointers, "<nil>" for NULL.
func valueAt(values any, i int) string {
	switch vs := values.(type) {
	case []*int64:
		if vs[i] != nil {
			return fmt.Sprint(*vs[i])
		}
	case []*float64:
		if vs[i] != nil {
			return fmt.Sprint(*vs[i])
		}
	case []*string:
		if vs[i] != nil {
			return *vs[i]
		}
	default:
		return fmt.Sprintf("%T", values)
	}
	return "<nil>"
}
