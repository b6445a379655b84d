package duckdb

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestEmptyArchiveHasTypedViewsForEveryCatalogTable(t *testing.T) {
	a := newArchive(t) // root does not even exist
	e := open(t, a.root, Options{})

	infos, err := e.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, ti := range infos {
		got[ti.Name] = map[string]string{}
		for _, c := range ti.Columns {
			got[ti.Name][c.Name] = c.Type
		}
	}
	for _, tbl := range tables.STL() {
		cols, ok := got[tbl.Name]
		if !ok {
			t.Errorf("no view %s", tbl.Name)
			continue
		}
		if len(cols) != len(tbl.Columns)+2 {
			t.Errorf("%s has %d columns, want %d", tbl.Name, len(cols), len(tbl.Columns)+2)
		}
		if cols["cluster"] != "VARCHAR" || cols["day"] != "DATE" {
			t.Errorf("%s partition columns: cluster %s, day %s", tbl.Name, cols["cluster"], cols["day"])
		}
		if n := scalarInt(t, e, "SELECT count(*) FROM "+tbl.Name); n != 0 {
			t.Errorf("%s has %d rows", tbl.Name, n)
		}
	}
	q := got["stl_query"]
	for col, want := range map[string]string{"userid": "INTEGER", "xid": "BIGINT", "label": "VARCHAR", "starttime": "TIMESTAMP"} {
		if q[col] != want {
			t.Errorf("stl_query.%s is %s, want %s", col, q[col], want)
		}
	}
}

func TestQueriesSeeHivePartitionColumnsTyped(t *testing.T) {
	a := newArchive(t)
	a.write("stl_query", "c1", day1, queryRows(1, 3, day1.Add(30*time.Minute)))
	a.write("stl_query", "c2", day2, queryRows(1, 2, day2.Add(30*time.Minute)))
	e := open(t, a.root, Options{})

	res := mustQuery(t, e, `SELECT cluster, day, count(*) AS n, max(endtime) AS last
		FROM stl_query WHERE day >= DATE '2026-11-01' GROUP BY ALL ORDER BY cluster`)
	f := res.Fields()
	if len(f) != 4 || f[0].Kind != KindString || f[1].Kind != KindTime || f[1].Type != "DATE" || f[2].Kind != KindInt64 || f[3].Type != "TIMESTAMP" {
		t.Fatalf("fields: %+v", f)
	}
	clusters := f[0].Values.([]*string)
	days := f[1].Values.([]*time.Time)
	counts := f[2].Values.([]*int64)
	last := f[3].Values.([]*time.Time)
	if res.Len() != 2 || *clusters[0] != "c1" || *clusters[1] != "c2" || *counts[0] != 3 || *counts[1] != 2 {
		t.Fatalf("rows: %v %v", deref(clusters), deref(counts))
	}
	if !days[1].Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) || !last[0].Equal(day1.Add(30*time.Minute)) {
		t.Fatalf("days %v last %v", deref(days), deref(last))
	}
}

func TestSchemaDriftIsReadByName(t *testing.T) {
	a := newArchive(t)
	a.write("stl_scan", "c1", day1, "SELECT 1::INTEGER AS query, 10::BIGINT AS rows")
	a.write("stl_scan", "c1", day2, "SELECT 2::INTEGER AS query, 20::BIGINT AS rows, 'x' AS is_rrscan")
	e := open(t, a.root, Options{})

	res := mustQuery(t, e, "SELECT query, rows, is_rrscan FROM stl_scan ORDER BY query")
	rows := res.Fields()[1].Values.([]*int64)
	flags := res.Fields()[2].Values.([]*string)
	if res.Len() != 2 || *rows[0] != 10 || *rows[1] != 20 || flags[0] != nil || *flags[1] != "x" {
		t.Fatalf("got rows %v flags %v", deref(rows), deref(flags))
	}
}

func TestDayFilterPrunesPartitions(t *testing.T) {
	a := newArchive(t)
	for _, d := range []time.Time{day1, day2, day3} {
		a.write("stl_query", "c1", d, queryRows(1, 1, d))
	}
	e := open(t, a.root, Options{})
	if err := e.views.refresh(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	var plan, kind string
	if err := e.db.QueryRow("EXPLAIN SELECT query FROM stl_query WHERE day = DATE '2026-11-02'").Scan(&kind, &plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Scanning Files: 1/3") {
		t.Fatalf("plan does not prune to one file of three:\n%s", plan)
	}
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query WHERE day = DATE '2026-11-02'"); n != 1 {
		t.Fatalf("count %d", n)
	}
}

func TestTablesAndFilesAppearingAfterOpenAreVisible(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 0 {
		t.Fatalf("empty archive has %d rows", n)
	}
	if _, err := e.Query(context.Background(), "SELECT * FROM big_orders"); !errors.Is(err, ErrRefused) {
		t.Fatalf("unknown table: %v", err)
	}

	// First files of a catalog table, then a custom table, then more files.
	a.write("stl_query", "c1", day1, queryRows(1, 2, day1))
	a.write("big_orders", "c1", day1, "SELECT 42::BIGINT AS order_id, 2500.5::DOUBLE AS amount")
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 2 {
		t.Fatalf("stl_query: %d rows after first file", n)
	}
	if n := scalarInt(t, e, "SELECT sum(order_id) FROM big_orders WHERE cluster = 'c1'"); n != 42 {
		t.Fatalf("custom table: %d", n)
	}
	a.write("stl_query", "c2", day2, queryRows(1, 5, day2))
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 7 {
		t.Fatalf("stl_query: %d rows after new partition", n)
	}
	infos, err := e.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !hasTable(infos, "big_orders") {
		t.Fatalf("Tables misses big_orders: %v", infos)
	}

	// A table whose files all go away falls back to its empty view instead of failing.
	if err := os.RemoveAll(filepath.Join(a.root, "stl_query")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(a.root, "stl_query"), 0o755); err != nil {
		t.Fatal(err)
	}
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 0 {
		t.Fatalf("stl_query: %d rows after its files went", n)
	}
}

func hasTable(infos []TableInfo, name string) bool {
	for _, ti := range infos {
		if ti.Name == name {
			return true
		}
	}
	return false
}

func TestFilesBeingWrittenAreNeverRead(t *testing.T) {
	a := newArchive(t)
	done := a.write("stl_query", "c1", day1, queryRows(1, 2, day1))
	dir := filepath.Dir(done)
	for _, name := range []string{".20261101T110000.000000_20261101T120000.000000.parquet", "20261101T110000.000000_20261101T120000.000000.parquet.tmp123"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half a parquet file"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := open(t, a.root, Options{})
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 2 {
		t.Fatalf("count %d", n)
	}
}

func TestRowLimitTruncatesAndSaysSo(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{MaxRows: 10})
	for _, tc := range []struct {
		query     string
		rows      int
		truncated bool
		first     int64
	}{
		{"SELECT i FROM range(100) r(i) ORDER BY i DESC", 10, true, 99},
		{"SELECT i FROM range(10) r(i)", 10, false, 0},
		{"SELECT i FROM range(3) r(i);", 3, false, 0},
		// Order survives the limit wrapper, also over a parallel sort.
		{"SELECT i FROM range(1000000) r(i) ORDER BY i DESC; -- newest first", 10, true, 999999},
	} {
		res := mustQuery(t, e, tc.query)
		if res.Len() != tc.rows || res.Truncated != tc.truncated || res.MaxRows != 10 {
			t.Errorf("%s: %d rows, truncated %v", tc.query, res.Len(), res.Truncated)
		}
		if first := *res.Fields()[0].Values.([]*int64)[0]; first != tc.first {
			t.Errorf("%s: first value %d, want %d", tc.query, first, tc.first)
		}
	}
}

func TestTimeLimitInterruptsRunningQuery(t *testing.T) {
	a := newArchive(t)
	const limit = 300 * time.Millisecond
	e := open(t, a.root, Options{Timeout: limit})
	start := time.Now()
	_, err := e.Query(context.Background(), "SELECT sum(hash(range)) FROM range(1000000000000)")
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a timeout, got %v", err)
	}
	if !strings.Contains(err.Error(), "time limit") {
		t.Fatalf("error does not say time limit: %v", err)
	}
	// Generous: interrupting takes milliseconds, but this machine is shared.
	if elapsed > limit+5*time.Second {
		t.Fatalf("query stopped only after %s", elapsed)
	}
	t.Logf("limit %s, stopped after %s", limit, elapsed)
	// The connection is usable again.
	if n := scalarInt(t, e, "SELECT 1"); n != 1 {
		t.Fatal("engine unusable after a timeout")
	}
}

func TestCallerCancellationIsNotReportedAsTimeout(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := e.Query(ctx, "SELECT sum(hash(range)) FROM range(1000000000000)")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("want cancellation, got %v", err)
	}
}

func TestInvalidQueriesAreTheUsersFault(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	for _, q := range []string{
		"SELECT FROM WHERE",
		"SELECT no_such_column FROM stl_query",
		"SELECT 'x'::INTEGER",
		"",
		"-- only a comment",
		"SELECT $1",
		"SELECT 2147483647::INTEGER + 1",
	} {
		_, err := e.Query(context.Background(), q)
		if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrRefused) {
			t.Errorf("%q: want ErrInvalid, got %v", q, err)
		}
	}
}

func TestResultValuesAreTyped(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	res := mustQuery(t, e, `SELECT 1::TINYINT AS i8, 2::INTEGER AS i32, sum(x) AS huge, 2.5::DECIMAL(10,2) AS dec,
		1.5::DOUBLE AS dbl, true AS flag, 'text' AS s, NULL::VARCHAR AS nothing, DATE '2026-11-02' AS d,
		TIMESTAMP '2026-11-02 10:00:00.123456' AS ts, TIMESTAMPTZ '2026-11-02 12:00:00+02' AS tz,
		[1, 2] AS list, {'a': 1} AS st, INTERVAL 90 MINUTE AS iv, '00000000-0000-0000-0000-000000000001'::UUID AS id
		FROM (VALUES (1::INTEGER), (2)) v(x)`)
	want := map[string]Kind{"i8": KindInt64, "i32": KindInt64, "huge": KindInt64, "dec": KindFloat64, "dbl": KindFloat64,
		"flag": KindBool, "s": KindString, "nothing": KindString, "d": KindTime, "ts": KindTime, "tz": KindTime,
		"list": KindString, "st": KindString, "iv": KindString, "id": KindString}
	vals := map[string]any{}
	for _, f := range res.Fields() {
		if f.Kind != want[f.Name] {
			t.Errorf("%s (%s): kind %s, want %s", f.Name, f.Type, f.Kind, want[f.Name])
		}
		vals[f.Name] = f.Values
	}
	if v := vals["huge"].([]*int64); *v[0] != 3 {
		t.Errorf("sum %d", *v[0])
	}
	if v := vals["dec"].([]*float64); *v[0] != 2.5 {
		t.Errorf("decimal %v", *v[0])
	}
	if v := vals["nothing"].([]*string); v[0] != nil {
		t.Errorf("NULL became %q", *v[0])
	}
	if v := vals["tz"].([]*time.Time); !v[0].Equal(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)) || v[0].Location() != time.UTC {
		t.Errorf("timestamptz %v", *v[0])
	}
	if v := vals["ts"].([]*time.Time); v[0].Nanosecond() != 123456000 {
		t.Errorf("timestamp %v", *v[0])
	}
	for name, text := range map[string]string{"list": "[1,2]", "st": `{"a":1}`, "iv": "1h30m0s", "id": "00000000-0000-0000-0000-000000000001"} {
		if v := vals[name].([]*string); *v[0] != text {
			t.Errorf("%s: %q, want %q", name, *v[0], text)
		}
	}
}

// An integer column whose values leave int64 (a sum over bigint counters) becomes a float64
// column, values read before the first large one included; a column that fits stays int64.
func TestIntegersBeyondInt64BecomeFloatColumns(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	res := mustQuery(t, e, `SELECT g, sum(x) AS total, CAST(max(x) AS UBIGINT) + CAST(max(x) AS UBIGINT) AS unsigned, count(*) AS n
		FROM (VALUES (1, 5::BIGINT), (2, 9223372036854775807), (2, 9223372036854775807), (2, 9223372036854775807)) v(g, x)
		GROUP BY g ORDER BY g`)
	const max = float64(math.MaxInt64)
	want := map[string][]float64{"total": {5, 3 * max}, "unsigned": {10, 2 * max}}
	for _, f := range res.Fields() {
		switch f.Name {
		case "n":
			if f.Kind != KindInt64 {
				t.Errorf("n (%s): kind %s, want int64", f.Type, f.Kind)
			}
		case "total", "unsigned":
			if f.Kind != KindFloat64 {
				t.Fatalf("%s (%s): kind %s, want float64", f.Name, f.Type, f.Kind)
			}
			v := f.Values.([]*float64)
			for i, w := range want[f.Name] {
				if v[i] == nil || math.Abs(*v[i]-w) > w*1e-12 {
					t.Errorf("%s row %d: %v, want %g", f.Name, i, v[i], w)
				}
			}
		}
	}
}

func TestConcurrentQueriesAllSucceed(t *testing.T) {
	a := newArchive(t)
	a.write("stl_query", "c1", day1, queryRows(1, 100, day1))
	e := open(t, a.root, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	// Meanwhile the exporter adds partitions and a new table: views change under the readers.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for d := range 5 {
			a.write("stl_wlm_query", "c1", day1.AddDate(0, 0, d), "SELECT 1::INTEGER AS query")
			a.write("custom_orders", "c1", day1.AddDate(0, 0, d), "SELECT 1::INTEGER AS id")
			if _, err := e.Query(context.Background(), "SELECT count(*) FROM stl_wlm_query"); err != nil {
				errs <- err
			}
		}
	}()
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				res, err := e.Query(context.Background(), "SELECT count(*) FROM stl_query, range(1000)")
				if err != nil {
					errs <- err
					return
				}
				if n := *res.Fields()[0].Values.([]*int64)[0]; n != 100_000 {
					errs <- errors.New("wrong count")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func deref[T any](ps []*T) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		if p != nil {
			out[i] = *p
		}
	}
	return out
}

// A corrupt object breaks its own table, loudly, and no other.
func TestCorruptObjectBreaksOnlyItsTable(t *testing.T) {
	a := newArchive(t)
	a.write("stl_query", "c1", day1, queryRows(1, 2, day1))
	e := open(t, a.root, Options{})
	good := a.write("stl_scan", "c1", day1, "SELECT 1::INTEGER AS query")
	bad := filepath.Join(filepath.Dir(good), "20261101T230000.000000_20261102T000000.000000.parquet")
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 2 {
		t.Fatalf("stl_query: %d", n)
	}
	_, err := e.Query(context.Background(), "SELECT count(*) FROM stl_scan")
	if err == nil || errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), filepath.Base(bad)) {
		t.Fatalf("want an archive error naming the object, got %v", err)
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_scan"); n != 1 {
		t.Fatalf("stl_scan after repair: %d", n)
	}

	// The same in a table whose view already reads files: DuckDB fails the query, and the error
	// is not blamed on the query.
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = e.Query(context.Background(), "SELECT count(*) FROM stl_scan")
	if err == nil || errors.Is(err, ErrRefused) || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), filepath.Base(bad)) {
		t.Fatalf("want an archive error naming the object, got %v", err)
	}
}

// DuckDB's excerpt in an error shows the user's SQL with the caret where it was, never the
// row-limit wrapper, and the archive's path is never in a message.
func TestErrorsShowTheUsersSQLNotTheWrapperNorThePath(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	for q, at := range map[string]string{
		"SELECT 'x'::INTEGER AS n":             "::",
		"SELECT no_such_column FROM stl_query": "no_such_column",
	} {
		_, err := e.Query(context.Background(), q)
		if err == nil {
			t.Fatalf("%s: no error", q)
		}
		msg := err.Error()
		line := "LINE 1: " + q
		caret := strings.Repeat(" ", strings.Index(line, at)) + "^"
		if !strings.Contains(msg, line+"\n"+caret+"\n") && !strings.HasSuffix(msg, line+"\n"+caret) ||
			strings.Contains(msg, "stl_archive_result") || strings.Contains(msg, "SELECT * FROM (") {
			t.Errorf("%s:\n%s\nwant the excerpt\n%s\n%s", q, msg, line, caret)
		}
	}
	err := Scrub(errors.New("IO Error: cannot open "+e.Root()+"/stl_query/x.parquet"), e.Root())
	if strings.Contains(err.Error(), e.Root()) || !strings.Contains(err.Error(), "<archive>/stl_query/x.parquet") {
		t.Errorf("scrubbed: %v", err)
	}
}
