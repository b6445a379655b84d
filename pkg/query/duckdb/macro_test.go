package duckdb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
)

// The DuckDB expansions of the macros run on the engine and select what they promise.
func TestMacroExpansionsRunOnTheEngine(t *testing.T) {
	a := newArchive(t)
	a.write("stl_query", "c1", day1, queryRows(1, 3, day1.Add(10*time.Minute)))  // 2026-11-01
	a.write("stl_query", "c2", day2, queryRows(10, 4, day2.Add(10*time.Minute))) // 2026-11-02
	a.write("stl_query", "c1", day3, queryRows(20, 5, day3.Add(10*time.Minute))) // 2026-11-03
	e := open(t, a.root, Options{})
	env := macro.Env{
		From:     day1,
		To:       day2.Add(time.Hour),
		Interval: time.Hour,
		Clusters: []string{"c1", "c2", "o'brien"},
	}
	for _, tc := range []struct {
		name, sql string
		want      int64
	}{
		{"time filter", "SELECT count(*) FROM stl_query WHERE $__timeFilter(endtime)", 7},
		{"day filter", "SELECT count(*) FROM stl_query q WHERE $__dayFilter(q.day)", 7},
		{"cluster filter", "SELECT count(*) FROM stl_query WHERE $__clusterFilter AND cluster = 'c1'", 8},
		{"time bounds", "SELECT count(*) FROM stl_query WHERE endtime BETWEEN $__timeFrom() AND $__timeTo()", 7},
		{"hourly buckets", "SELECT count(DISTINCT $__timeGroup(endtime)) FROM stl_query WHERE $__timeFilter(endtime)", 2},
		{"weekly buckets start on Monday", "SELECT epoch($__timeGroup(endtime, '1w'))::BIGINT FROM stl_query WHERE day = DATE '2026-11-03' LIMIT 1",
			time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC).Unix()},
		{"interval variable", "SELECT count(*) FROM stl_query WHERE endtime > $__timeTo() - $__interval AND endtime <= $__timeTo()", 4},
		{"dashboard query", `SELECT count(*) FROM (
			SELECT $__timeGroup(q.endtime, '5m') AS time, q.cluster, count(*) AS queries
			FROM stl_query q
			WHERE $__dayFilter(q.day) AND $__timeFilter(q.endtime) AND $__clusterFilter(q.cluster)
			GROUP BY 1, 2 ORDER BY 1)`, 2},
	} {
		sql, err := macro.Expand(tc.sql, macro.DuckDB, env)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := scalarInt(t, e, sql); got != tc.want {
			t.Errorf("%s: %d, want %d\n%s", tc.name, got, tc.want, sql)
		}
	}
}

// A template variable that closes a macro early and appends a statement passes through the
// macro layer as text, and ends at the engine's guard.
func TestStatementSmuggledThroughAMacroIsRefused(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	env := macro.Env{From: day1, To: day2, Interval: time.Minute, Clusters: []string{"a') OR 1=1 --"}}
	for _, q := range []string{
		"SELECT * FROM stl_query WHERE $__timeFilter(endtime); DROP VIEW stl_query; --)",
		"SELECT * FROM stl_query WHERE $__clusterFilter; COPY (SELECT 1) TO '/tmp/x.csv'",
	} {
		sql, err := macro.Expand(q, macro.DuckDB, env)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if _, err := e.Query(context.Background(), sql); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: not refused: %v", sql, err)
		}
	}
	// The quoted cluster value matches no cluster rather than every row.
	sql, err := macro.Expand("SELECT count(*) FROM stl_query WHERE $__clusterFilter", macro.DuckDB, env)
	if err != nil {
		t.Fatal(err)
	}
	if n := scalarInt(t, e, sql); n != 0 {
		t.Fatalf("%d rows", n)
	}
}
