package query_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

func emptyService(t *testing.T) *query.Service {
	t.Helper()
	e, err := duckdb.Open(context.Background(), t.TempDir(), duckdb.Options{MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return &query.Service{Engine: e, Presets: catalog}
}

const longRows = `SELECT * FROM (VALUES
	(TIMESTAMP '2026-11-01 00:10:00', 'west', 5, 1.5),
	(TIMESTAMP '2026-11-01 00:00:00', 'east', 1, NULL),
	(TIMESTAMP '2026-11-01 00:00:00', 'west', 2, 0.5),
	(TIMESTAMP '2026-11-01 00:10:00', 'east', 3, 2.5),
	(NULL, 'east', 9, 9.0)
) AS t(time, cluster, queries, seconds)`

func TestLongRowsBecomeAWideSeriesPerClusterInTimeOrder(t *testing.T) {
	svc := emptyService(t)
	ans, err := svc.Run(context.Background(), query.Request{Model: query.Model{RefID: "A", RawSQL: longRows, Format: "time_series"}})
	if err != nil {
		t.Fatal(err)
	}
	fr := ans.Frames[0]
	if fr.RefID != "A" || fr.Meta.Type != data.FrameTypeTimeSeriesWide || fr.Meta.ExecutedQueryString != ans.SQL {
		t.Errorf("frame meta: ref %q type %q sql %q", fr.RefID, fr.Meta.Type, fr.Meta.ExecutedQueryString)
	}
	if n, _ := fr.RowLen(); n != 2 {
		t.Fatalf("%d times, want 2 (the row without a time is dropped)", n)
	}
	if t0 := fr.Fields[0].At(0).(time.Time); !t0.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first time %v: not sorted", t0)
	}
	want := map[string][]any{
		"queries east": {int64(1), int64(3)}, "queries west": {int64(2), int64(5)},
		"seconds east": {nil, 2.5}, "seconds west": {0.5, 1.5},
	}
	for _, f := range fr.Fields[1:] {
		key := f.Name + " " + f.Labels["cluster"]
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected series %s %v", f.Name, f.Labels)
			continue
		}
		delete(want, key)
		for i, wv := range w {
			got, ok := f.ConcreteAt(i)
			if !ok {
				got = nil
			}
			if got != wv {
				t.Errorf("%s[%d] = %v, want %v", key, i, got, wv)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("missing series %v", want)
	}
}

func TestTimeSeriesWithoutATimeColumnIsTheAuthorsFault(t *testing.T) {
	svc := emptyService(t)
	_, err := svc.Run(context.Background(), query.Request{Model: query.Model{RawSQL: "SELECT 1 AS n", Format: "time_series"}})
	if !query.IsUserError(err) || !strings.Contains(err.Error(), "time column") {
		t.Errorf("got %v", err)
	}
}

func TestRowLimitIsTheSmallestOfModelGrafanaAndDatasource(t *testing.T) {
	svc := emptyService(t)
	svc.MaxRows = 50
	sql := "SELECT * FROM range(1000)"
	for _, tc := range []struct {
		model, grafana, want int
	}{
		{0, 0, 50}, {10, 0, 10}, {0, 20, 20}, {30, 20, 20}, {0, 500, 50},
	} {
		ans, err := svc.Run(context.Background(), query.Request{Model: query.Model{RawSQL: sql, Limit: tc.model}, MaxRows: tc.grafana})
		if err != nil {
			t.Fatal(err)
		}
		fr := ans.Frames[0]
		if n, _ := fr.RowLen(); n != tc.want || len(fr.Meta.Notices) != 1 {
			t.Errorf("limits model %d grafana %d: %d rows and notices %v, want %d and a notice", tc.model, tc.grafana, n, fr.Meta.Notices, tc.want)
		}
	}
}

func TestVariableQueriesGiveOneTextColumn(t *testing.T) {
	svc := emptyService(t)
	ans, err := svc.Run(context.Background(), query.Request{Model: query.Model{RawSQL: "SELECT * FROM (VALUES (3, 'x'), (1, 'y')) t(a, b)", Format: "variable"}})
	if err != nil {
		t.Fatal(err)
	}
	f := ans.Frames[0]
	if len(f.Fields) != 1 || f.Fields[0].At(0) != "3" || f.Fields[0].At(1) != "1" {
		t.Errorf("variable frame %v", f.Fields)
	}
}

func TestStatusFramesForTablesAndAlerts(t *testing.T) {
	w := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rows := []query.StatusRow{{Cluster: "east", Table: "stl_query", Watermark: &w, LagSeconds: 60, Rows: 10, Gaps: 1},
		{Cluster: "west", Table: "stl_query", LagSeconds: -1, LastError: "connection refused"}}
	tbl := query.StatusFrames(rows, "table", "", w)[0]
	if n, _ := tbl.RowLen(); n != 2 || len(tbl.Fields) != 7 {
		t.Errorf("table %d rows %d fields", n, len(tbl.Fields))
	}
	ts := query.StatusFrames(rows, "time_series", "", w)[0]
	if ts.TimeSeriesSchema().Type != data.TimeSeriesTypeWide || len(ts.Fields) != 5 {
		t.Fatalf("time series: %s with %d fields", ts.TimeSeriesSchema().Type, len(ts.Fields))
	}
	if f := ts.Fields[1]; f.Name != "lag_seconds" || f.Labels["cluster"] != "east" || f.At(0).(float64) != 60 {
		t.Errorf("first series %s %v %v", f.Name, f.Labels, f.At(0))
	}
	if f := ts.Fields[3]; f.Name != "gaps" || f.At(0).(int64) != 1 {
		t.Errorf("gaps series %s %v", f.Name, f.At(0))
	}
	// Alerting tells series apart by labels alone: both metrics together carry a metric label,
	// and one metric alone keeps just cluster and table.
	seen := map[string]bool{}
	for _, f := range ts.Fields[1:] {
		if seen[f.Labels.String()] {
			t.Errorf("two series share labels %s", f.Labels)
		}
		seen[f.Labels.String()] = true
	}
	for _, metric := range []string{query.MetricLag, query.MetricGaps} {
		one := query.StatusFrames(rows, "time_series", metric, w)[0]
		if len(one.Fields) != 3 {
			t.Fatalf("%s: %d fields, want time and one per cluster", metric, len(one.Fields))
		}
		for _, f := range one.Fields[1:] {
			if f.Name != metric || len(f.Labels) != 2 {
				t.Errorf("%s: series %s %v", metric, f.Name, f.Labels)
			}
		}
	}
}

// Grafana alerting tells the series of a wide frame apart by their labels alone. A frame with
// two value columns (p50/p95, queue/exec, or any SQL like it) gives each numeric field a metric
// label, so every series has its own label set; a frame with one value column keeps the labels
// of its label columns only. Display names stay readable.
func TestEverySeriesOfATimeSeriesHasItsOwnLabelSet(t *testing.T) {
	svc := emptyService(t)
	cases := []struct {
		name, sql  string
		wantMetric bool
		series     int
	}{
		{"two values, one label column", longRows, true, 4},
		{"two values, no label column", `SELECT * FROM (VALUES (TIMESTAMP '2026-11-01 00:00:00', 1, 2.5)) t(time, p50_seconds, p95_seconds)`, true, 2},
		{"two values, two label columns", `SELECT * FROM (VALUES (TIMESTAMP '2026-11-01 00:00:00', 'east', '6', 1.0, 2.0),
			(TIMESTAMP '2026-11-01 00:00:00', 'east', '7', 3.0, 4.0)) t(time, cluster, service_class, queue_seconds, exec_seconds)`, true, 4},
		{"one value", `SELECT * FROM (VALUES (TIMESTAMP '2026-11-01 00:00:00', 'east', 1), (TIMESTAMP '2026-11-01 00:00:00', 'west', 2)) t(time, cluster, queries)`, false, 2},
		{"a metric column of its own", `SELECT * FROM (VALUES (TIMESTAMP '2026-11-01 00:00:00', 'p50', 1.0, 2.0)) t(time, metric, a, b)`, false, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ans, err := svc.Run(context.Background(), query.Request{Model: query.Model{RefID: "A", RawSQL: c.sql, Format: "time_series"}})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]string{}
			for _, f := range ans.Frames[0].Fields[1:] {
				key := f.Labels.String()
				if other, dup := seen[key]; dup && c.name != "a metric column of its own" {
					t.Errorf("%s and %s have the same labels %s", other, f.Name, key)
				}
				seen[key] = f.Name
				got, has := f.Labels[query.MetricLabel]
				if c.wantMetric && got != f.Name {
					t.Errorf("%s%v: metric label %q, want %q", f.Name, f.Labels, got, f.Name)
				}
				if !c.wantMetric && c.name == "one value" && has {
					t.Errorf("%s%v: a single value column got a metric label", f.Name, f.Labels)
				}
				if c.wantMetric && (f.Config == nil || !strings.HasPrefix(f.Config.DisplayNameFromDS, f.Name)) {
					t.Errorf("%s%v: display name %+v should start with the column name", f.Name, f.Labels, f.Config)
				}
			}
			if len(ans.Frames[0].Fields)-1 != c.series {
				t.Errorf("%d series, want %d", len(ans.Frames[0].Fields)-1, c.series)
			}
		})
	}
	// The built-in two-value presets are answered the same way.
	for _, id := range []string{"query_duration", "wlm_queue_wait"} {
		p, _ := svc.Presets.Lookup(id)
		var values int
		for _, col := range p.Columns {
			if col.Role == presets.RoleValue {
				values++
			}
		}
		if values < 2 {
			t.Errorf("preset %s has %d value columns; the case above no longer covers it", id, values)
		}
	}
}
