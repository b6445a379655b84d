package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkQuery measures what a panel query costs on an archive of 4 clusters × 50 days
// (200 objects of 1000 stl_query rows): the guard, the view check and DuckDB's own work.
func BenchmarkQuery(b *testing.B) {
	a := newArchive(b)
	for c := range 4 {
		for d := range 50 {
			lo := day1.AddDate(0, 0, d)
			a.write("stl_query", fmt.Sprintf("c%d", c), lo, queryRows(d*1000, 1000, lo.Add(30*time.Minute)))
		}
	}
	e, err := Open(context.Background(), a.root, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, bc := range []struct{ name, sql string }{
		{"constant", "SELECT 1"},
		{"one_day", "SELECT cluster, count(*), max(endtime) FROM stl_query WHERE day = DATE '2026-11-10' GROUP BY cluster"},
		{"all_days", "SELECT cluster, count(*), max(endtime) FROM stl_query GROUP BY cluster"},
		{"hourly_series", "SELECT time_bucket(INTERVAL 1 HOUR, endtime) AS t, cluster, count(*) FROM stl_query GROUP BY ALL ORDER BY 1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Query(context.Background(), bc.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
