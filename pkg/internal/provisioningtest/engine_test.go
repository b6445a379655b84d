package provisioningtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
)

// Every raw SQL query of the dashboards and alert rules runs on the embedded engine, locked down
// as in the plugin, over an archive with no files yet: the views then exist with their catalog
// columns and no rows, so a misspelt column, a function DuckDB lacks or a statement the engine
// refuses fails here without any data. The end-to-end test runs them over a filled archive.
func TestRawSQLQueriesRunOnTheEmbeddedEngine(t *testing.T) {
	ctx := context.Background()
	eng, err := duckdb.Open(ctx, t.TempDir(), duckdb.Options{Timeout: 20 * time.Second, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })

	panels, err := PanelQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := AlertQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]string{"cluster": {"demo-east", "demo-west"}, "service_class": {"6", "100"}}
	to := time.Now().UTC()
	ran := 0
	for _, q := range append(panels, alerts...) {
		target, err := Substitute(q.Target, values)
		if err != nil {
			t.Fatal(err)
		}
		var m query
		if err := json.Unmarshal(target, &m); err != nil {
			t.Fatal(err)
		}
		if m.QueryType != "sql" {
			continue
		}
		env := macro.Env{From: to.Add(-24 * time.Hour), To: to, Interval: time.Minute, Clusters: m.Clusters}
		if q.Kind == KindAlert {
			// Alert rules have no panel interval, and list no clusters (all of them).
			env = macro.Env{From: to.Add(-q.From), To: to.Add(-q.To)}
		}
		sql, err := macro.Expand(m.RawSQL, macro.DuckDB, env)
		if err != nil {
			t.Errorf("%s %q: %v", q.Kind, q.Title, err)
			continue
		}
		res, err := eng.Query(ctx, sql)
		if err != nil {
			t.Errorf("%s %q: %v\n%s", q.Kind, q.Title, err, sql)
			continue
		}
		if q.TimeSeries {
			checkTimeSeriesColumns(t, q, res.Fields())
		}
		ran++
	}
	if ran < 5 {
		t.Errorf("ran %d raw SQL queries, want every one of the dashboards and the alert rules", ran)
	}
}

// checkTimeSeriesColumns asserts the shape a time series query must have for Grafana alerting
// and graphs: a time column, numeric values, and a cluster label.
func checkTimeSeriesColumns(t *testing.T, q Query, fields []duckdb.Field) {
	t.Helper()
	var times, numbers int
	var cluster bool
	var cols []string
	for _, f := range fields {
		cols = append(cols, f.Name+" "+f.Kind.String())
		switch f.Kind {
		case duckdb.KindTime:
			times++
		case duckdb.KindInt64, duckdb.KindFloat64:
			numbers++
		case duckdb.KindString:
			cluster = cluster || f.Name == "cluster"
		}
	}
	if times != 1 || numbers == 0 || !cluster {
		t.Errorf("%s %q: columns %v: a time series needs one time column, numeric values and a cluster label", q.Kind, q.Title, cols)
	}
}
